using System.Text;
using System.Text.Json;
using Canary.Analyzer.Documents;
using Json.Schema;

namespace Canary.Analyzer.Tests.Support;

/// <summary>The published JSON Schemas of schemas/, built once with their cross-file references resolved.</summary>
internal static class Schemas
{
    private static readonly Lazy<Dictionary<string, JsonSchema>> All = new(Build);

    public static JsonSchema CanaryConfig => All.Value["canary-config"];

    public static JsonSchema JudgeInput => All.Value["judge-input"];

    public static JsonSchema JudgeOutput => All.Value["judge-output"];

    /// <summary>The schema's complaints about a JSON document; empty when it is valid.</summary>
    public static IReadOnlyList<string> Problems(JsonSchema schema, string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid
            ? []
            : (result.Details ?? []).Where(d => !d.IsValid).SelectMany(d => d.Errors is { Count: > 0 }
                ? d.Errors.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")
                : [$"{d.InstanceLocation}: fails {d.EvaluationPath}"]).ToList();
    }

    /// <summary>A YAML (or JSON) config as JSON text, as an editor's schema validation sees it.</summary>
    public static string YamlToJson(string yaml)
    {
        var node = DocumentNode.Parse(yaml);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, node);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, DocumentNode node)
    {
        switch (node.Kind)
        {
            case NodeKind.Mapping:
                writer.WriteStartObject();
                foreach (var (key, value) in node.Members)
                {
                    writer.WritePropertyName(key);
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case NodeKind.Sequence:
                writer.WriteStartArray();
                node.Items.ForEach(item => Write(writer, item));
                writer.WriteEndArray();
                break;
            case NodeKind.Number:
                node.TryGetNumber(out var number);
                writer.WriteNumberValue(number);
                break;
            case NodeKind.Boolean:
                writer.WriteBooleanValue(node.Text is "true" or "True" or "TRUE");
                break;
            case NodeKind.Null:
                writer.WriteNullValue();
                break;
            default:
                writer.WriteStringValue(node.Text);
                break;
        }
    }

    private static Dictionary<string, JsonSchema> Build()
    {
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        var folder = Path.Combine(AppContext.BaseDirectory, "schemas");
        var schemas = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        // Referenced schemas first: canary-config refers to judge-input.
        foreach (var file in Directory.GetFiles(folder, "*.schema.json").OrderByDescending(f => f, StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            schemas[Path.GetFileName(file).Replace(".schema.json", string.Empty, StringComparison.Ordinal)] =
                JsonSchema.Build(document.RootElement.Clone(), options, new Uri(file));
        }

        return schemas;
    }
}
