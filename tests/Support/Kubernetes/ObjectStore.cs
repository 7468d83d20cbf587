using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Canary.Testing.Kubernetes;

/// <summary>An error the API server answers with a Status object.</summary>
public sealed class ApiStatusException(int code, string reason, string message) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject ToStatus(ResourceType? type = null, string? name = null) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = Message,
        ["reason"] = Reason,
        ["details"] = type is null ? null : new JsonObject { ["name"] = name, ["group"] = type.Group, ["kind"] = type.Plural },
        ["code"] = Code,
    };

    public static ApiStatusException NotFound(ResourceType type, string name) => new(404, "NotFound", $"{type.QualifiedName} \"{name}\" not found");
}

/// <summary>
/// The emulator's etcd: every object by kind, namespace and name, one resourceVersion counter for all
/// writes, generation bumped on spec changes, and watchers notified of every change in order.
/// </summary>
internal sealed class ObjectStore(TimeProvider time)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, (ResourceType Type, JsonObject Object)> objects = new(StringComparer.Ordinal);
    private readonly List<Watcher> watchers = [];
    private readonly List<(string Type, ResourceType Kind, JsonObject Object)> history = [];
    private long version;

    public long ResourceVersion
    {
        get
        {
            lock (gate)
            {
                return version;
            }
        }
    }

    public JsonObject? Get(ResourceType type, string? ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue(Key(type, ns, name), out var entry) ? Copy(entry.Object, type) : null;
        }
    }

    public List<JsonObject> List(ResourceType type, string? ns, LabelSelector selector, string? nameField)
    {
        lock (gate)
        {
            return objects.Values
                .Where(e => e.Type.Group == type.Group && e.Type.Plural == type.Plural)
                .Select(e => e.Object)
                .Where(o => ns is null || Namespace(o) == ns)
                .Where(o => nameField is null || Name(o) == nameField)
                .Where(selector.Matches)
                .OrderBy(o => Namespace(o), StringComparer.Ordinal).ThenBy(Name, StringComparer.Ordinal)
                .Select(o => Copy(o, type))
                .ToList();
        }
    }

    public JsonObject Create(ResourceType type, string? ns, JsonObject body)
    {
        var metadata = body["metadata"] as JsonObject ?? throw new ApiStatusException(400, "BadRequest", "metadata is required");
        var name = metadata["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name))
        {
            var prefix = metadata["generateName"]?.GetValue<string>() ?? throw new ApiStatusException(422, "Invalid", $"{type.Kind} \"\" is invalid: metadata.name: Required value: name or generateName is required");
            name = prefix + Guid.NewGuid().ToString("N")[..5];
        }

        if (type.Namespaced && body["metadata"]?["namespace"]?.GetValue<string>() is { } given && given != ns)
        {
            throw new ApiStatusException(400, "BadRequest", $"the namespace of the provided object ({given}) does not match the namespace sent on the request ({ns})");
        }

        lock (gate)
        {
            var key = Key(type, ns, name);
            if (objects.ContainsKey(key))
            {
                throw new ApiStatusException(409, "AlreadyExists", $"{type.QualifiedName} \"{name}\" already exists");
            }

            var stored = Normalize(type, body.DeepClone().AsObject());
            if (type.HasStatus)
            {
                // As the API server: status is written through its subresource, never on create.
                stored.Remove("status");
            }

            var meta = stored["metadata"]!.AsObject();
            meta["name"] = name;
            meta.Remove("generateName");
            if (type.Namespaced)
            {
                meta["namespace"] = ns;
            }
            else
            {
                meta.Remove("namespace");
            }

            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            meta["resourceVersion"] = (++version).ToString(CultureInfo.InvariantCulture);
            if (stored["spec"] is not null)
            {
                meta["generation"] = 1;
            }

            objects[key] = (type, stored);
            Publish("ADDED", type, stored);
            return Copy(stored, type);
        }
    }

    /// <summary>
    /// Replaces an object with what change makes of the stored one. A resourceVersion in the result
    /// that is not the stored one is a conflict (409). Writes to the main resource keep the stored
    /// status of kinds with a status subresource; status writes change only the status.
    /// </summary>
    public JsonObject Update(ResourceType type, string? ns, string name, Func<JsonObject, JsonObject> change, bool statusOnly = false)
    {
        lock (gate)
        {
            var key = Key(type, ns, name);
            if (!objects.TryGetValue(key, out var entry))
            {
                throw ApiStatusException.NotFound(type, name);
            }

            var current = entry.Object;
            var proposed = change(Copy(current, type));
            var meta = proposed["metadata"] as JsonObject ?? [];
            var currentVersion = current["metadata"]!["resourceVersion"]!.GetValue<string>();
            if (meta["resourceVersion"]?.GetValue<string>() is { Length: > 0 } sent && sent != currentVersion)
            {
                throw new ApiStatusException(409, "Conflict", $"Operation cannot be fulfilled on {type.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            }

            if (meta["name"]?.GetValue<string>() is { } renamed && renamed != name)
            {
                throw new ApiStatusException(400, "BadRequest", $"the name of the object ({renamed}) does not match the name on the URL ({name})");
            }

            JsonObject stored;
            if (statusOnly)
            {
                stored = current.DeepClone().AsObject();
                stored["status"] = proposed["status"]?.DeepClone();
            }
            else
            {
                stored = Normalize(type, proposed.DeepClone().AsObject());
                if (type.HasStatus)
                {
                    stored["status"] = current["status"]?.DeepClone();
                }

                var storedMeta = stored["metadata"] as JsonObject ?? [];
                stored["metadata"] = storedMeta;
                foreach (var kept in new[] { "uid", "creationTimestamp", "namespace", "name", "generation" })
                {
                    storedMeta[kept] = current["metadata"]![kept]?.DeepClone();
                }

                if (stored["spec"] is not null && !JsonNode.DeepEquals(stored["spec"], current["spec"]))
                {
                    storedMeta["generation"] = Integer(current["metadata"]!["generation"], 0) + 1;
                }
            }

            if (JsonNode.DeepEquals(Strip(stored), Strip(current)))
            {
                // A write that changes nothing keeps the resourceVersion, as the API server does.
                return Copy(current, type);
            }

            stored["metadata"]!["resourceVersion"] = (++version).ToString(CultureInfo.InvariantCulture);
            objects[key] = (type, stored);
            Publish("MODIFIED", type, stored);
            return Copy(stored, type);
        }
    }

    public JsonObject Delete(ResourceType type, string? ns, string name)
    {
        lock (gate)
        {
            var key = Key(type, ns, name);
            if (!objects.Remove(key, out var entry))
            {
                throw ApiStatusException.NotFound(type, name);
            }

            entry.Object["metadata"]!["resourceVersion"] = (++version).ToString(CultureInfo.InvariantCulture);
            Publish("DELETED", type, entry.Object);
            return Copy(entry.Object, type);
        }
    }

    /// <summary>Removes every object of a kind (its CRD was deleted).</summary>
    public void DeleteAll(string group, string plural)
    {
        lock (gate)
        {
            foreach (var key in objects.Where(e => e.Value.Type.Group == group && e.Value.Type.Plural == plural).Select(e => e.Key).ToList())
            {
                objects.Remove(key);
            }
        }
    }

    /// <summary>
    /// A watch. Without a resourceVersion (or "0"): ADDED events for what exists, then every change.
    /// From a resourceVersion: every change after it, replayed from the recent history first (as
    /// after a list), or 410 Expired when that version is older than the history kept.
    /// </summary>
    public Watcher Watch(ResourceType type, string? ns, LabelSelector selector, string? nameField, long? from)
    {
        lock (gate)
        {
            var watcher = new Watcher(type, ns, selector, nameField, from ?? version);
            if (from is null or 0)
            {
                foreach (var item in List(type, ns, selector, nameField))
                {
                    watcher.Offer("ADDED", item);
                }
            }
            else
            {
                var oldest = history.Count > 0 ? Integer(history[0].Object["metadata"]!["resourceVersion"], 0) : version + 1;
                if (from < oldest - 1 && from < version)
                {
                    throw new ApiStatusException(410, "Expired", $"too old resource version: {from} ({oldest - 1})");
                }

                foreach (var (eventType, kind, item) in history)
                {
                    if (Integer(item["metadata"]!["resourceVersion"], 0) > from && watcher.Wants(kind, item))
                    {
                        watcher.Offer(eventType, Copy(item, kind));
                    }
                }
            }

            watchers.Add(watcher);
            return watcher;
        }
    }

    public void Unwatch(Watcher watcher)
    {
        lock (gate)
        {
            watchers.Remove(watcher);
        }
    }

    /// <summary>A whole number however the node holds it (parsed from JSON, or set from an int or a long).</summary>
    public static long Integer(JsonNode? node, long fallback) =>
        node is null ? fallback
        : long.Parse(node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public static string Name(JsonObject o) => o["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;

    public static string? Namespace(JsonObject o) => o["metadata"]?["namespace"]?.GetValue<string>();

    private static string Key(ResourceType type, string? ns, string name) => $"{type.Group}/{type.Plural}/{(type.Namespaced ? ns : string.Empty)}/{name}";

    private static JsonObject Copy(JsonObject o, ResourceType type)
    {
        var copy = o.DeepClone().AsObject();
        copy["apiVersion"] = type.GroupVersion;
        copy["kind"] = type.Kind;
        return copy;
    }

    /// <summary>Drops kind/apiVersion (the URL says them) and turns a Secret's stringData into data.</summary>
    private static JsonObject Normalize(ResourceType type, JsonObject o)
    {
        o.Remove("apiVersion");
        o.Remove("kind");
        o["metadata"] ??= new JsonObject();
        if (type.Kind == "Secret" && o["stringData"] is JsonObject stringData)
        {
            var data = o["data"] as JsonObject ?? [];
            foreach (var (key, value) in stringData)
            {
                data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value?.GetValue<string>() ?? string.Empty));
            }

            o["data"] = data;
            o.Remove("stringData");
        }

        return o;
    }

    private static JsonObject Strip(JsonObject o)
    {
        var copy = o.DeepClone().AsObject();
        copy["metadata"]?.AsObject().Remove("resourceVersion");
        return copy;
    }

    private void Publish(string type, ResourceType kind, JsonObject o)
    {
        history.Add((type, kind, o.DeepClone().AsObject()));
        if (history.Count > 5000)
        {
            history.RemoveRange(0, 1000);
        }

        foreach (var watcher in watchers)
        {
            if (watcher.Wants(kind, o))
            {
                watcher.Offer(type, Copy(o, kind));
            }
        }
    }
}

/// <summary>One watch stream's queue of events; LastVersion is the resourceVersion of the last event queued (for bookmarks).</summary>
internal sealed class Watcher(ResourceType type, string? ns, LabelSelector selector, string? nameField, long start)
{
    private long lastVersion = start;

    public Channel<JsonObject> Events { get; } = Channel.CreateUnbounded<JsonObject>();

    public long LastVersion => Interlocked.Read(ref lastVersion);

    public bool Wants(ResourceType kind, JsonObject o) =>
        kind.Group == type.Group && kind.Plural == type.Plural && (ns is null || ObjectStore.Namespace(o) == ns)
        && (nameField is null || ObjectStore.Name(o) == nameField) && selector.Matches(o);

    public void Offer(string eventType, JsonObject o)
    {
        Interlocked.Exchange(ref lastVersion, Math.Max(LastVersion, ObjectStore.Integer(o["metadata"]?["resourceVersion"], 0)));
        Events.Writer.TryWrite(new JsonObject { ["type"] = eventType, ["object"] = o });
    }
}
