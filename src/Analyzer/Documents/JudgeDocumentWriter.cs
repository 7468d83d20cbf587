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

        writer.WriteStartObject("effectSize");
        WriteNumber(writer, "meanRatio", metric.EffectSize.MeanRatio);
        WriteNumber(writer, "cles", metric.EffectSize.Cles);
        writer.WriteEndObject();
        WriteSummary(writer, "control", metric.Control);
        WriteSummary(writer, "experiment", metric.Experiment);
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
