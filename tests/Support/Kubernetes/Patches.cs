using System.Text.Json.Nodes;

namespace Canary.Testing.Kubernetes;

/// <summary>A patch the emulator cannot apply; the API server answers 422 (or 400 for malformed bodies).</summary>
public sealed class PatchException(string message) : Exception(message);

/// <summary>
/// The three patch types of the API server: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
/// strategic merge patch. Strategic merge here is a merge patch that merges the lists Kubernetes
/// merges by key (containers and volumes by name, env by name, ports, volume mounts) and honours
/// "$patch: delete" in list items; every other list is replaced, as the API server does for lists
/// without a patch strategy.
/// </summary>
public static class Patches
{
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["imagePullSecrets"] = "name",
        ["conditions"] = "type",
    };

    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch, bool strategic = false)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? targetObject.DeepClone().AsObject() : [];
        foreach (var (key, value) in patchObject)
        {
            if (strategic && key.StartsWith('$'))
            {
                continue;
            }

            if (value is null)
            {
                result.Remove(key);
            }
            else if (strategic && value is JsonArray list && result[key] is JsonArray existing && MergeKey(key, list, existing) is { } mergeKey)
            {
                result[key] = MergeList(existing, list, mergeKey);
            }
            else
            {
                result[key] = MergePatch(result[key], value, strategic);
            }
        }

        return result;
    }

    public static JsonNode? JsonPatch(JsonNode? target, JsonArray operations)
    {
        var document = target?.DeepClone();
        foreach (var operation in operations.Select(o => o as JsonObject ?? throw new PatchException("a JSON patch is an array of operation objects")))
        {
            var op = operation["op"]?.GetValue<string>() ?? throw new PatchException("operation without \"op\"");
            var path = operation["path"]?.GetValue<string>() ?? throw new PatchException("operation without \"path\"");
            switch (op)
            {
                case "add":
                    document = Add(document, path, operation["value"]?.DeepClone());
                    break;
                case "remove":
                    Remove(document, path);
                    break;
                case "replace":
                    Remove(document, path);
                    document = Add(document, path, operation["value"]?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Resolve(document, path), operation["value"]))
                    {
                        throw new PatchException($"test operation failed at {path}");
                    }

                    break;
                case "copy" or "move":
                    var from = operation["from"]?.GetValue<string>() ?? throw new PatchException($"{op} without \"from\"");
                    var value = Resolve(document, from)?.DeepClone();
                    if (op == "move")
                    {
                        Remove(document, from);
                    }

                    document = Add(document, path, value);
                    break;
                default:
                    throw new PatchException($"unknown JSON patch op \"{op}\"");
            }
        }

        return document;
    }

    private static string? MergeKey(string field, JsonArray patch, JsonArray existing)
    {
        if (field == "ports")
        {
            // Container ports merge by containerPort, service ports by port.
            var sample = patch.Concat(existing).OfType<JsonObject>().FirstOrDefault();
            return sample?["containerPort"] is not null ? "containerPort" : "port";
        }

        return MergeKeys.GetValueOrDefault(field);
    }

    private static JsonArray MergeList(JsonArray existing, JsonArray patch, string key)
    {
        var result = new JsonArray([.. existing.Select(e => e?.DeepClone())]);
        foreach (var item in patch.OfType<JsonObject>())
        {
            var id = item[key]?.ToJsonString();
            var index = result.Select((e, i) => (e, i)).FirstOrDefault(p => p.e is JsonObject o && o[key]?.ToJsonString() == id, (null, -1)).Item2;
            if (item["$patch"]?.GetValue<string>() == "delete")
            {
                if (index >= 0)
                {
                    result.RemoveAt(index);
                }
            }
            else if (index >= 0)
            {
                result[index] = MergePatch(result[index], item, strategic: true);
            }
            else
            {
                result.Add(MergePatch(null, item, strategic: true));
            }
        }

        return result;
    }

    private static string[] Tokens(string path) =>
        path.Length == 0 ? [] : path[0] != '/' ? throw new PatchException($"\"{path}\" is not a JSON pointer")
        : [.. path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];

    private static JsonNode? Resolve(JsonNode? document, string path)
    {
        var node = document;
        foreach (var token in Tokens(path))
        {
            node = node switch
            {
                JsonObject o when o.ContainsKey(token) => o[token],
                JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw new PatchException($"path {path} does not exist"),
            };
        }

        return node;
    }

    private static JsonNode? Add(JsonNode? document, string path, JsonNode? value)
    {
        var tokens = Tokens(path);
        if (tokens.Length == 0)
        {
            return value;
        }

        var parent = Resolve(document, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new PatchException($"cannot add at {path}");
        }

        return document;
    }

    private static void Remove(JsonNode? document, string path)
    {
        var tokens = Tokens(path);
        if (tokens.Length == 0)
        {
            throw new PatchException("the whole document cannot be removed");
        }

        var parent = tokens.Length == 1 ? document : Resolve(document, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new PatchException($"path {path} does not exist");
        }
    }
}
