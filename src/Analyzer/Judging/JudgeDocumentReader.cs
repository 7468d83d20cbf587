using System.Text.Json;
using Canary.Analyzer.Cli;
using Canary.Judge.Config;

namespace Canary.Analyzer.Judging;

/// <summary>A judge input document: the config and one series pair per metric.</summary>
public sealed record JudgeDocument(JudgeConfig Config, IReadOnlyDictionary<string, MetricSeries> Series);

/// <summary>Reads the input document of the Judge contract (DESIGN.md); every problem names its field.</summary>
public static class JudgeDocumentReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <exception cref="InputException">The document is malformed or invalid; one problem per field.</exception>
    public static JudgeDocument Read(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException e)
        {
            throw new InputException($"line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}: malformed JSON: {FirstSentence(e.Message)}");
        }

        using (document)
        {
            var fields = new JsonFields([]);
            var root = document.RootElement;
            if (!fields.Object(root, string.Empty, "config", "data"))
            {
                throw new InputException(fields.Problems);
            }

            JudgeConfig? config = null;
            if (!root.TryGetProperty("config", out var configElement))
            {
                fields.Problem("config", "is required");
            }
            else
            {
                config = JudgeConfigReader.Read(configElement, "config", fields);
            }

            var series = ReadData(root, config, fields);
            if (config is not null)
            {
                // Value rules too, except on fields that already failed to read.
                var reported = fields.Problems.Select(p => p[..p.IndexOf(": ", StringComparison.Ordinal)]).ToHashSet(StringComparer.Ordinal);
                foreach (var problem in JudgeConfigValidator.Validate(config).Where(p => !reported.Contains(p.Field)))
                {
                    fields.Problem(problem.Field, problem.Message);
                }
            }

            if (fields.Problems.Count > 0 || config is null)
            {
                throw new InputException(fields.Problems);
            }

            return new JudgeDocument(config, series);
        }
    }

    private static Dictionary<string, MetricSeries> ReadData(JsonElement root, JudgeConfig? config, JsonFields fields)
    {
        var series = new Dictionary<string, MetricSeries>(StringComparer.Ordinal);
        if (!root.TryGetProperty("data", out var data))
        {
            fields.Problem("data", "is required: an array of {\"metric\", \"control\", \"experiment\"}");
            return series;
        }

        if (data.ValueKind != JsonValueKind.Array)
        {
            fields.Problem("data", $"must be an array, got {JsonFields.Describe(data)}");
            return series;
        }

        var names = config?.Metrics.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var index = 0;
        foreach (var entry in data.EnumerateArray())
        {
            var path = $"data[{index++}]";
            if (!fields.Object(entry, path, "metric", "control", "experiment"))
            {
                continue;
            }

            var metric = fields.String(entry, path, "metric", string.Empty);
            if (metric.Length == 0)
            {
                fields.Problem($"{path}.metric", "is required: the name of a metric in config.metrics");
                continue;
            }

            if (names is not null && !names.Contains(metric))
            {
                fields.Problem($"{path}.metric", $"\"{metric}\" is not a metric of config.metrics");
            }
            else if (series.ContainsKey(metric))
            {
                fields.Problem($"{path}.metric", $"\"{metric}\" has an earlier data entry; give each metric one");
            }

            var control = ReadSeries(entry, path, "control", fields);
            var experiment = ReadSeries(entry, path, "experiment", fields);
            series.TryAdd(metric, new MetricSeries(metric, control, experiment));
        }

        if (config is not null)
        {
            for (var i = 0; i < config.Metrics.Count; i++)
            {
                if (!series.ContainsKey(config.Metrics[i].Name))
                {
                    fields.Problem($"config.metrics[{i}]", $"\"{config.Metrics[i].Name}\" has no entry in data");
                }
            }
        }

        return series;
    }

    /// <summary>An array of numbers or null; null, "NaN", "+Inf" and "-Inf" become NaN (missing).</summary>
    private static double[] ReadSeries(JsonElement entry, string path, string name, JsonFields fields)
    {
        if (!entry.TryGetProperty(name, out var array))
        {
            fields.Problem($"{path}.{name}", "is required: an array of numbers or null");
            return [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            fields.Problem($"{path}.{name}", $"must be an array of numbers or null, got {JsonFields.Describe(array)}");
            return [];
        }

        var values = new double[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            values[i] = item.ValueKind switch
            {
                JsonValueKind.Number => item.TryGetDouble(out var number) ? number : double.NaN,
                JsonValueKind.Null => double.NaN,
                JsonValueKind.String when IsNonFiniteWord(item.GetString()) => double.NaN,
                _ => Bad(fields, $"{path}.{name}[{i}]", item),
            };
            i++;
        }

        return values;
    }

    private static double Bad(JsonFields fields, string path, JsonElement item)
    {
        fields.Problem(path, $"must be a number or null, got {JsonFields.Describe(item)}");
        return double.NaN;
    }

    private static bool IsNonFiniteWord(string? word) =>
        word is "NaN" or "+Inf" or "-Inf" or "Inf" or "Infinity" or "+Infinity" or "-Infinity";

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
