using System.Buffers;
using System.Text.Json;

namespace Canary.Analyzer.Documents;

/// <summary>One entry of the document's "data" array, as read: samples, or (a sequential metric) an object per cohort.</summary>
internal sealed record DataEntry(string Path, int Line, string? Metric, double[] Control, double[] Experiment)
{
    public DocumentNode? ControlObject { get; init; }

    public DocumentNode? ExperimentObject { get; init; }
}

/// <summary>
/// Streams the "data" array of a judge document: millions of samples are read straight from the
/// UTF-8 tokens into arrays, without building a document tree; every problem names its path.
/// </summary>
internal static class JudgeDataReader
{
    public static List<DataEntry> Read(ref Utf8JsonReader reader, DocumentFields fields)
    {
        var entries = new List<DataEntry>();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            fields.ProblemAt(reader.TokenStartIndex, "data", $"must be an array, got {Describe(ref reader)}");
            reader.Skip();
            return entries;
        }

        var buffer = ArrayPool<double>.Shared.Rent(4096);
        try
        {
            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var path = $"data[{index++}]";
                var line = fields.Lines?.LineOf(reader.TokenStartIndex) ?? 0;
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    fields.ProblemAt(reader.TokenStartIndex, path, $"must be an object, got {Describe(ref reader)}");
                    reader.Skip();
                    continue;
                }

                string? metric = null;
                double[]? control = null, experiment = null;
                DocumentNode? controlObject = null, experimentObject = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    switch (name)
                    {
                        case "metric" when reader.TokenType == JsonTokenType.String:
                            metric = reader.GetString();
                            break;
                        case "metric":
                            fields.ProblemAt(reader.TokenStartIndex, $"{path}.metric", $"must be a string, got {Describe(ref reader)}");
                            reader.Skip();
                            break;
                        // A sequential metric's cohort: {events, exposure} or {le, buckets}, small enough for a tree with lines.
                        case "control" when reader.TokenType == JsonTokenType.StartObject && fields.Lines is { } lines:
                            controlObject = DocumentNode.ReadJson(ref reader, lines);
                            break;
                        case "experiment" when reader.TokenType == JsonTokenType.StartObject && fields.Lines is { } lines:
                            experimentObject = DocumentNode.ReadJson(ref reader, lines);
                            break;
                        case "control":
                            control = ReadSeries(ref reader, $"{path}.control", fields, ref buffer);
                            break;
                        case "experiment":
                            experiment = ReadSeries(ref reader, $"{path}.experiment", fields, ref buffer);
                            break;
                        default:
                            fields.ProblemAt(reader.TokenStartIndex, $"{path}.{name}", "unknown field; expected one of metric, control, experiment");
                            reader.Skip();
                            break;
                    }
                }

                foreach (var (side, values, node) in new[] { ("control", control, controlObject), ("experiment", experiment, experimentObject) })
                {
                    if (values is null && node is null)
                    {
                        fields.ProblemAt(reader.TokenStartIndex, $"{path}.{side}", "is required: an array of numbers or null (a sequential metric: {\"events\", \"exposure\"} or {\"le\", \"buckets\"})");
                    }
                }

                entries.Add(new DataEntry(path, line, metric, control ?? [], experiment ?? []) { ControlObject = controlObject, ExperimentObject = experimentObject });
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }

        return entries;
    }

    /// <summary>An array of numbers or null; null, "NaN", "+Inf" and "-Inf" become NaN (missing).</summary>
    private static double[]? ReadSeries(ref Utf8JsonReader reader, string path, DocumentFields fields, ref double[] buffer)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            fields.ProblemAt(reader.TokenStartIndex, path, $"must be an array of numbers or null, got {Describe(ref reader)}");
            reader.Skip();
            return [];
        }

        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (count == buffer.Length)
            {
                var larger = ArrayPool<double>.Shared.Rent(2 * buffer.Length);
                buffer.AsSpan().CopyTo(larger);
                ArrayPool<double>.Shared.Return(buffer);
                buffer = larger;
            }

            buffer[count] = reader.TokenType switch
            {
                JsonTokenType.Number when !reader.HasValueSequence => FastDouble.TryParse(reader.ValueSpan, out var number) ? number : double.NaN,
                JsonTokenType.Number => reader.TryGetDouble(out var number) ? number : double.NaN,
                JsonTokenType.Null => double.NaN,
                JsonTokenType.String when IsNonFiniteWord(reader.GetString()) => double.NaN,
                _ => Bad(ref reader, $"{path}[{count}]", fields),
            };
            count++;
        }

        return buffer.AsSpan(0, count).ToArray();
    }

    private static double Bad(ref Utf8JsonReader reader, string path, DocumentFields fields)
    {
        fields.ProblemAt(reader.TokenStartIndex, path, $"must be a number or null, got {Describe(ref reader)}");
        reader.Skip();
        return double.NaN;
    }

    private static bool IsNonFiniteWord(string? word) =>
        word is "NaN" or "+Inf" or "-Inf" or "Inf" or "Infinity" or "+Infinity" or "-Infinity";

    /// <summary>A short rendering of the current token for messages, like <see cref="DocumentNode.Describe"/>.</summary>
    private static string Describe(ref Utf8JsonReader reader)
    {
        var text = reader.TokenType switch
        {
            JsonTokenType.String => $"\"{reader.GetString()}\"",
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            JsonTokenType.Null => "null",
            _ => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        };
        return DocumentNode.Shorten(text);
    }
}
