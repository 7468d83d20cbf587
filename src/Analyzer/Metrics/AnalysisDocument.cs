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

    public static void WriteWindow(Utf8JsonWriter writer, AnalysisWindow window, string interval)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(window);
        writer.WriteStartObject("window");
        writer.WriteString("start", Format(window.Start));
        writer.WriteString("end", Format(window.End));
        writer.WriteString("step", Documents.TimeArguments.Format(window.Step));
        writer.WriteString("interval", interval);
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
}
