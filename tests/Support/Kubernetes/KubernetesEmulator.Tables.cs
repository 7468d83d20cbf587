using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing.Kubernetes;

/// <summary>
/// The Table form (meta.k8s.io/v1) of custom resources with printer columns, as the API server
/// serves it when kubectl asks (Accept: application/json;as=Table;…): a Name column, then each of
/// the CRD's additionalPrinterColumns evaluated on the object (simple .a.b paths), dates shown as ages.
/// </summary>
public sealed partial class KubernetesEmulator
{
    private static bool WantsTable(HttpContext context, ResourceType type) =>
        type.PrinterColumns is { Count: > 0 } && context.Request.Headers.Accept.ToString().Contains("as=Table", StringComparison.Ordinal);

    private JsonObject Table(ResourceType type, IEnumerable<JsonObject> items)
    {
        var columns = type.PrinterColumns!.Select(c => c!.AsObject()).ToList();
        var definitions = new JsonArray(new JsonObject { ["name"] = "Name", ["type"] = "string", ["format"] = "name", ["description"] = "Name of the object", ["priority"] = 0 });
        foreach (var column in columns)
        {
            definitions.Add(new JsonObject
            {
                ["name"] = column["name"]!.DeepClone(),
                ["type"] = column["type"]!.GetValue<string>() == "date" ? "date" : column["type"]!.DeepClone(),
                ["format"] = column["format"]?.DeepClone() ?? string.Empty,
                ["description"] = column["description"]?.DeepClone() ?? string.Empty,
                ["priority"] = column["priority"]?.DeepClone() ?? 0,
            });
        }

        var rows = new JsonArray();
        foreach (var item in items)
        {
            var cells = new JsonArray(item["metadata"]!["name"]!.DeepClone());
            foreach (var column in columns)
            {
                var value = AtPath(item, column["jsonPath"]!.GetValue<string>());
                cells.Add(column["type"]!.GetValue<string>() == "date" && value is not null ? Age(value.GetValue<string>()) : value?.DeepClone());
            }

            rows.Add(new JsonObject
            {
                ["cells"] = cells,
                ["object"] = new JsonObject { ["kind"] = "PartialObjectMetadata", ["apiVersion"] = "meta.k8s.io/v1", ["metadata"] = item["metadata"]!.DeepClone() },
            });
        }

        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = store.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["columnDefinitions"] = definitions,
            ["rows"] = rows,
        };
    }

    private static JsonNode? AtPath(JsonNode node, string path)
    {
        JsonNode? current = node;
        foreach (var part in path.TrimStart('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            current = current?[part];
        }

        return current;
    }

    /// <summary>As the API server shows a date column: the time since, in its largest unit (45s, 12m, 3h, 5d).</summary>
    private string Age(string timestamp)
    {
        var since = Time.GetUtcNow() - DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture);
        return since.TotalDays >= 1 ? $"{(int)since.TotalDays}d" : since.TotalHours >= 1 ? $"{(int)since.TotalHours}h" : since.TotalMinutes >= 1 ? $"{(int)since.TotalMinutes}m" : $"{Math.Max(0, (int)since.TotalSeconds)}s";
    }
}
