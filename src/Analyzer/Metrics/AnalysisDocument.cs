using System.Globalization;
using System.Text.Json;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// The members an analysis adds to the Judge's output document: the window, the rendered queries
/// and both cohorts' samples. `canary analyze`, rollouts and the API write them alike.
/// </summary>
internal static class AnalysisDocument
{
    /// <summary>A time as the documents write it: UTC, RFC 3339, milliseconds when there are some.</summary>
    public static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The window; with sequential metrics, "counted": the requests their intervals counted, from start to end, one interval per step.</summary>
    public static void WriteWindow(Utf8JsonWriter writer, AnalysisWindow window, string interval, IntervalWindow? counted = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(window);
        writer.WriteStartObject("window");
        writer.WriteString("start", Format(window.Start));
        writer.WriteString("end", Format(window.End));
        writer.WriteString("step", Documents.TimeArguments.Format(window.Step));
        writer.WriteString("interval", interval);
        if (counted is { Count: > 0 })
        {
            writer.WriteStartObject("counted");
            writer.WriteString("start", Format(counted.Start));
            writer.WriteString("end", Format(counted.LastEnd));
            writer.WriteString("step", counted.Range);
            writer.WriteNumber("intervals", counted.Count);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    public static void WriteQueries(Utf8JsonWriter writer, CanaryConfig config, IReadOnlyDictionary<string, RenderedQuery> queries)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(queries);
        writer.WriteStartObject("queries");
        foreach (var metric in config.Metrics)
        {
            writer.WriteStartObject(metric.Name);
            writer.WriteString("control", queries[metric.Name].Control);
            writer.WriteString("experiment", queries[metric.Name].Experiment);
            if (queries[metric.Name] is { ControlExposure: { } controlExposure, ExperimentExposure: { } experimentExposure })
            {
                writer.WriteString("controlExposure", controlExposure);
                writer.WriteString("experimentExposure", experimentExposure);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>Both cohorts' samples of every metric (null for a missing step), so the dashboard can draw them side by side.</summary>
    public static void WriteSeries(Utf8JsonWriter writer, IEnumerable<Judge.Config.MetricSeries> series)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(series);
        writer.WriteStartObject("series");
        foreach (var metric in series)
        {
            writer.WriteStartObject(metric.Metric);
            if (metric.Sequential is not null)
            {
                WriteCounts(writer, metric.Sequential);
                writer.WriteEndObject();
                continue;
            }

            foreach (var (cohort, values) in new[] { ("control", metric.Control), ("experiment", metric.Experiment) })
            {
                writer.WriteStartArray(cohort);
                foreach (var value in values)
                {
                    if (double.IsFinite(value))
                    {
                        writer.WriteNumberValue(value);
                    }
                    else
                    {
                        writer.WriteNullValue();
                    }
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>A sequential metric's intervals in the Judge's input form, so a stored analysis can be judged again by `canary judge`.</summary>
    private static void WriteCounts(Utf8JsonWriter writer, Judge.Config.SequentialData data)
    {
        foreach (var experiment in new[] { false, true })
        {
            writer.WriteStartObject(experiment ? "experiment" : "control");
            if (data is Judge.Config.CountData counts)
            {
                writer.WriteStartArray("events");
                foreach (var i in counts.Counts)
                {
                    writer.WriteNumberValue(experiment ? i.ExperimentEvents : i.ControlEvents);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("exposure");
                foreach (var i in counts.Counts)
                {
                    writer.WriteNumberValue(experiment ? i.ExperimentExposure : i.ControlExposure);
                }

                writer.WriteEndArray();
            }
            else if (data is Judge.Config.HistogramData histogram)
            {
                writer.WriteStartArray("le");
                foreach (var le in histogram.Edges)
                {
                    writer.WriteStringValue(le);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("buckets");
                foreach (var i in histogram.Buckets)
                {
                    writer.WriteStartArray();
                    foreach (var count in experiment ? i.ExperimentBuckets : i.ControlBuckets)
                    {
                        writer.WriteNumberValue(count);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }
    }
}
