using System.Text.Json;
using Canary.Judge.Results;

namespace Canary.Analyzer.Documents;

/// <summary>Writes the output document of the Judge contract (DESIGN.md).</summary>
internal static class JudgeDocumentWriter
{
    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(Stream output, JudgeResult result, Action<Utf8JsonWriter>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var writer = new Utf8JsonWriter(output, Options);
        writer.WriteStartObject();
        writer.WriteNumber("score", result.Score);
        writer.WriteString("classification", result.Classification.ToString());
        writer.WriteBoolean("inconclusive", result.Inconclusive);
        writer.WriteString("reason", result.Reason);
        writer.WriteStartArray("groups");
        foreach (var group in result.Groups)
        {
            writer.WriteStartObject();
            writer.WriteString("name", group.Name);
            WriteNumber(writer, "score", group.Score);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("metrics");
        foreach (var metric in result.Metrics)
        {
            WriteMetric(writer, metric);
        }

        writer.WriteEndArray();
        extra?.Invoke(writer);
        writer.WriteEndObject();
        writer.Flush();
    }

    private static void WriteMetric(Utf8JsonWriter writer, MetricResult metric)
    {
        writer.WriteStartObject();
        writer.WriteString("name", metric.Name);
        writer.WriteString("group", metric.Group);
        writer.WriteString("classification", metric.Classification.ToString());
        writer.WriteBoolean("critical", metric.Critical);
        writer.WriteString("reason", metric.Reason);
        if (metric.Test is { } test)
        {
            writer.WriteStartObject("test");
            WriteNumber(writer, "pValue", test.PValue);
            WriteNumber(writer, "estimate", test.Estimate);
            WriteNumber(writer, "lower", test.Lower);
            WriteNumber(writer, "upper", test.Upper);
            WriteNumber(writer, "confidenceLevel", test.ConfidenceLevel);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("test");
        }

        if (metric.Sequential is { } sequential)
        {
            WriteSequential(writer, metric, sequential);
            writer.WriteEndObject();
            return;
        }

        writer.WriteStartObject("effectSize");
        WriteNumber(writer, "meanRatio", metric.EffectSize.MeanRatio);
        WriteNumber(writer, "cles", metric.EffectSize.Cles);
        writer.WriteEndObject();
        WriteSummary(writer, "control", metric.Control);
        WriteSummary(writer, "experiment", metric.Experiment);
        writer.WriteEndObject();
    }

    /// <summary>A sequential metric (DESIGN, "Sequential metrics"): the ratio, each cohort's sums, and the evidence.</summary>
    private static void WriteSequential(Utf8JsonWriter writer, MetricResult metric, SequentialResult sequential)
    {
        writer.WriteStartObject("effectSize");
        WriteNumber(writer, "ratio", metric.EffectSize.Ratio);
        writer.WriteEndObject();
        foreach (var (name, totals) in new[] { ("control", sequential.Control), ("experiment", sequential.Experiment) })
        {
            writer.WriteStartObject(name);
            writer.WriteNumber("intervals", totals.Intervals);
            if (totals.Total is { } total)
            {
                writer.WriteNumber("total", total);
            }
            else
            {
                writer.WriteNumber("events", totals.Events ?? 0);
                writer.WriteNumber("exposure", totals.Exposure ?? 0);
            }

            writer.WriteEndObject();
        }

        writer.WriteStartObject("sequential");
        // α as the decimal it was computed in (0.99 → 0.01), not 0.010000000000000009.
        writer.WriteNumber("alpha", decimal.Round((decimal)sequential.Alpha, 12));
        writer.WriteStartArray("evidence");
        foreach (var value in sequential.Evidence)
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
        WriteNumber(writer, "eValue", sequential.EValue);
        if (sequential.CrossedAt is { } crossed)
        {
            writer.WriteNumber("crossedAt", crossed);
        }
        else
        {
            writer.WriteNull("crossedAt");
        }

        if (sequential.Edge is { } edge)
        {
            writer.WriteString("edge", edge);
        }
        else
        {
            writer.WriteNull("edge");
        }

        WriteNumber(writer, "estimate", sequential.Estimate);
        WriteNumber(writer, "lower", sequential.Lower);
        WriteNumber(writer, "upper", sequential.Upper);
        // The time the stream's intervals cover, when their length is known (canary analyze, rollouts).
        WriteNumber(writer, "seconds", (sequential.CountState?.Seconds ?? sequential.HistogramState?.Seconds) is > 0 and { } seconds ? seconds : null);
        writer.WriteEndObject();
    }

    private static void WriteSummary(Utf8JsonWriter writer, string name, SeriesSummary summary)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("count", summary.Count);
        WriteNumber(writer, "mean", summary.Mean);
        WriteNumber(writer, "median", summary.Median);
        WriteNumber(writer, "stdDev", summary.StdDev);
        WriteNumber(writer, "min", summary.Min);
        WriteNumber(writer, "max", summary.Max);
        writer.WriteEndObject();
    }

    /// <summary>JSON has no NaN or infinity: a value that is not finite is written as null.</summary>
    private static void WriteNumber(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } number && double.IsFinite(number))
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
