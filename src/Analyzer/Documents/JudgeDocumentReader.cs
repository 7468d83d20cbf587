using System.Text.Json;
using Canary.Judge.Config;

namespace Canary.Analyzer.Documents;

/// <summary>A judge input document: the config and one series pair per metric.</summary>
internal sealed record JudgeDocument(JudgeConfig Config, IReadOnlyDictionary<string, MetricSeries> Series);

/// <summary>Reads the input document of the Judge contract (DESIGN.md); every problem names its field.</summary>
internal static class JudgeDocumentReader
{
    /// <exception cref="InputException">The document is malformed or invalid; one problem per field, each starting with source and the line.</exception>
    public static JudgeDocument Read(ReadOnlyMemory<byte> utf8, string source)
    {
        try
        {
            DocumentNode.CheckUtf8(utf8.Span);
        }
        catch (DocumentException e)
        {
            throw new InputException([e.ToProblem()], source);
        }

        var lines = new LineCounter(utf8);
        var fields = new DocumentFields();
        // Data problems are listed after the config's, as the document reads.
        var dataFields = new DocumentFields { Lines = lines };
        DocumentNode? configNode = null;
        List<DataEntry>? data = null;
        try
        {
            var reader = new Utf8JsonReader(utf8.Span, new JsonReaderOptions { MaxDepth = 64 });
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InputException([new DocumentProblem(1, "$", $"must be an object with \"config\" and \"data\", got {reader.TokenType.ToString().ToLowerInvariant()}")], source);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == "config")
                {
                    configNode = DocumentNode.ReadJson(ref reader, lines);
                }
                else if (name == "data")
                {
                    data = JudgeDataReader.Read(ref reader, dataFields);
                }
                else
                {
                    fields.Problem(name, "unknown field; expected one of config, data", lines.LineOf(reader.TokenStartIndex));
                    reader.Skip();
                }
            }

            // Reading on to the end reports trailing garbage and unclosed brackets.
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            throw new InputException([JsonLocation.Syntax(utf8.Span, e).ToProblem()], source);
        }
        catch (DocumentException e)
        {
            throw new InputException([(e.Offset >= 0 ? JsonLocation.At(utf8.Span, e.Offset, e.Reason) : e).ToProblem()], source);
        }

        {
            JudgeConfig? config = null;
            if (configNode is null)
            {
                fields.Problem("config", "is required");
            }
            else
            {
                config = JudgeConfigReader.Read(configNode, "config", fields);
            }

            fields.Problems.AddRange(dataFields.Problems);
            var series = Match(config, data, fields);
            if (config is not null)
            {
                // Value rules too, except on fields that already failed to read.
                var reported = fields.Problems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
                foreach (var problem in JudgeConfigValidator.Validate(config).Where(p => !reported.Contains(p.Field)))
                {
                    fields.Problem(problem.Field, problem.Message);
                }
            }

            if (fields.Problems.Count > 0 || config is null)
            {
                throw new InputException(fields.Problems, source);
            }

            return new JudgeDocument(config, series);
        }
    }

    /// <summary>Pairs data entries with the config's metrics: each metric needs exactly one entry.</summary>
    private static Dictionary<string, MetricSeries> Match(JudgeConfig? config, List<DataEntry>? data, DocumentFields fields)
    {
        var series = new Dictionary<string, MetricSeries>(StringComparer.Ordinal);
        if (data is null)
        {
            fields.Problem("data", "is required: an array of {\"metric\", \"control\", \"experiment\"}");
            return series;
        }

        var names = config?.Metrics.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var metrics = config?.Metrics.GroupBy(m => m.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var entry in data)
        {
            if (string.IsNullOrEmpty(entry.Metric))
            {
                fields.Problem($"{entry.Path}.metric", "is required: the name of a metric in config.metrics", entry.Line);
            }
            else if (names is not null && !names.Contains(entry.Metric))
            {
                fields.Problem($"{entry.Path}.metric", $"\"{entry.Metric}\" is not a metric of config.metrics", entry.Line);
            }
            else if (!series.TryAdd(entry.Metric, Series(entry, metrics?.GetValueOrDefault(entry.Metric), fields)))
            {
                fields.Problem($"{entry.Path}.metric", $"\"{entry.Metric}\" has an earlier data entry; give each metric one", entry.Line);
            }
        }

        if (config is not null)
        {
            for (var i = 0; i < config.Metrics.Count; i++)
            {
                if (config.Metrics[i].Name.Length > 0 && !series.ContainsKey(config.Metrics[i].Name))
                {
                    fields.Problem($"config.metrics[{i}]", $"\"{config.Metrics[i].Name}\" has no entry in data");
                }
            }
        }

        return series;
    }

    /// <summary>An entry's series: samples for a Mann–Whitney metric, per-interval data for a sequential one; the wrong shape is a problem naming the cohort.</summary>
    private static MetricSeries Series(DataEntry entry, MetricConfig? metric, DocumentFields fields)
    {
        var series = new MetricSeries(entry.Metric!, entry.Control, entry.Experiment);
        if (metric?.Method == JudgeMethod.Sequential)
        {
            return series with { Sequential = JudgeSequentialReader.Read(entry, metric, fields) };
        }

        if (entry.ControlObject is not null || entry.ExperimentObject is not null)
        {
            fields.Problem(entry.ControlObject is not null ? $"{entry.Path}.control" : $"{entry.Path}.experiment",
                $"is an object, but \"{entry.Metric}\" is judged by Mann–Whitney on samples: give an array of numbers, or set the metric's \"method\": \"sequential\"", entry.Line);
        }

        return series;
    }
}
