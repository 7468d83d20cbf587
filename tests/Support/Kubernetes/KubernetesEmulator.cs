using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing.Kubernetes;

/// <summary>
/// A Kubernetes API server emulator on 127.0.0.1 (Kestrel, free port) that speaks the REST protocol
/// closely enough for KubernetesClient and the real kubectl: /version, discovery, CRUD, merge / JSON /
/// strategic-merge patch, label selectors, resourceVersion with 409 on stale writes, generation,
/// scale and status subresources, watch streams with bookmarks, custom resources from CRDs, a
/// deployment controller that moves status towards the spec, and fault injection. It serves no
/// OpenAPI schema (kubectl needs --validate=false for apply).
/// </summary>
public sealed partial class KubernetesEmulator : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private WebApplication app = null!;
    private readonly ResourceCatalog catalog = new();
    private readonly ObjectStore store;
    private readonly ObjectRequests objects;
    private readonly InjectedFaults faults = new();
    private readonly ConcurrentDictionary<string, bool> failingRollouts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> pendingRollouts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stop = new();
    private readonly Task controller;
    private int requests;

    private KubernetesEmulator(TimeProvider time)
    {
        Time = time;
        store = new ObjectStore(time);
        objects = new ObjectRequests(catalog, store);
        controller = Task.Run(() => RunDeploymentControllerAsync(stop.Token));
    }

    public Uri Url { get; private set; } = null!;

    public TimeProvider Time { get; }

    /// <summary>How long the deployment controller waits before a deployment's status follows its spec.</summary>
    public TimeSpan RolloutDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the deployment controller looks at every deployment (raise it for thousands of them).</summary>
    public TimeSpan ControllerInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Requests served so far (for tests that count retries).</summary>
    public int Requests => Volatile.Read(ref requests);

    public static async Task<KubernetesEmulator> StartAsync(TimeProvider? time = null)
    {
        var emulator = new KubernetesEmulator(time ?? TimeProvider.System);
        (emulator.app, emulator.Url) = await LoopbackHost.StartAsync(emulator.HandleAsync);
        return emulator;
    }

    /// <summary>A kubeconfig file for kubectl (or KubernetesClient) pointing at the emulator.</summary>
    public string WriteKubeconfig(string folder)
    {
        var path = Path.Combine(folder, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: emulator
                cluster:
                  server: "{Url.AbsoluteUri.TrimEnd('/')}"
            contexts:
              - name: emulator
                context:
                  cluster: emulator
                  user: emulator
                  namespace: default
            current-context: emulator
            users:
              - name: emulator
                user:
                  token: emulator
            """);
        return path;
    }

    /// <summary>The next requests whose path contains pathPart get these faults, one each, in order.</summary>
    public void Inject(string pathPart, params ApiFault[] next) => Inject(null, pathPart, next);

    /// <summary>The next requests with this method (GET, PUT, PATCH, ...; null for any) whose path contains pathPart get these faults.</summary>
    public void Inject(string? method, string pathPart, params ApiFault[] next) => faults.Add(method, pathPart, next);

    /// <summary>Creates a CRD for a namespaced kind with one served version (Istio's and Traefik's kinds, canary's own Canary).</summary>
    public void InstallCrd(string group, string version, string kind, string plural) =>
        Write("apiextensions.k8s.io", "v1", "customresourcedefinitions", null, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = $"{plural}.{group}" },
            ["spec"] = new JsonObject
            {
                ["group"] = group,
                ["scope"] = "Namespaced",
                ["names"] = new JsonObject { ["kind"] = kind, ["plural"] = plural, ["singular"] = kind.ToLowerInvariant() },
                ["versions"] = new JsonArray(new JsonObject { ["name"] = version, ["served"] = true, ["storage"] = true, ["subresources"] = new JsonObject { ["status"] = new JsonObject() } }),
            },
        });

    /// <summary>From now on the deployment's rollouts never become ready: Progressing=False, ProgressDeadlineExceeded.</summary>
    public void FailRollouts(string ns, string name, bool fail = true) => failingRollouts[$"{ns}/{name}"] = fail;

    /// <summary>Reads an object directly from the store (for assertions), or null.</summary>
    public JsonObject? Read(string group, string version, string plural, string? ns, string name) =>
        catalog.Find(group, version, plural) is { } type ? store.Get(type, ns, name) : null;

    /// <summary>Creates or replaces an object directly in the store, as another user of the cluster would.</summary>
    public JsonObject Write(string group, string version, string plural, string? ns, JsonObject body)
    {
        var type = catalog.Find(group, version, plural) ?? throw new InvalidOperationException($"{plural}.{group}/{version} is not served");
        if (body["kind"] is null)
        {
            body["kind"] = type.Kind;
        }

        var name = body["metadata"]!["name"]!.GetValue<string>();
        if (store.Get(type, ns, name) is null)
        {
            return type.Kind == "CustomResourceDefinition" ? objects.CreateCrd(type, body) : store.Create(type, ns, body);
        }

        return store.Update(type, ns, name, current =>
        {
            var copy = body.DeepClone().AsObject();
            copy["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
            copy["status"] = body["status"]?.DeepClone() ?? current["status"]?.DeepClone();
            return copy;
        });
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await controller;
        }
        catch (OperationCanceledException)
        {
        }

        await app.StopAsync();
        await app.DisposeAsync();
        stop.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref requests);
        var path = context.Request.Path.Value ?? "/";
        switch (faults.Take(context.Request.Method, path))
        {
            case ApiFault.Status status:
                var reason = status.Code switch { 409 => "Conflict", 500 => "InternalError", 503 => "ServiceUnavailable", 429 => "TooManyRequests", _ => "Unknown" };
                await WriteAsync(context, status.Code, new ApiStatusException(status.Code, reason, $"injected {status.Code} for {path}").ToStatus());
                return;
            case ApiFault.Drop:
                context.Abort();
                return;
            case ApiFault.Delay delay:
                await Task.Delay(delay.Duration, context.RequestAborted);
                break;
            case ApiFault.Before before:
                await before.Action();
                break;
        }

        try
        {
            await RouteAsync(context, path.TrimEnd('/').Split('/', StringSplitOptions.RemoveEmptyEntries));
        }
        catch (ApiStatusException e)
        {
            await WriteAsync(context, e.Code, e.ToStatus());
        }
        catch (PatchException e)
        {
            await WriteAsync(context, 422, new ApiStatusException(422, "Invalid", e.Message).ToStatus());
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            await WriteAsync(context, 400, new ApiStatusException(400, "BadRequest", e.Message).ToStatus());
        }
    }

    private async Task RouteAsync(HttpContext context, string[] segments)
    {
        switch (segments)
        {
            case ["version"]:
                await WriteAsync(context, 200, new JsonObject
                {
                    ["major"] = "1",
                    ["minor"] = "30",
                    ["gitVersion"] = "v1.30.0-canary-emulator",
                    ["platform"] = "linux/amd64",
                });
                return;
            case ["api"]:
                await WriteAsync(context, 200, new JsonObject
                {
                    ["kind"] = "APIVersions",
                    ["versions"] = new JsonArray("v1"),
                    ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = Url.Authority }),
                });
                return;
            case ["apis"]:
                await WriteAsync(context, 200, new JsonObject
                {
                    ["kind"] = "APIGroupList",
                    ["apiVersion"] = "v1",
                    ["groups"] = new JsonArray([.. catalog.GroupsOf().Select(g => (JsonNode)catalog.Group(g))]),
                });
                return;
            case ["apis", var group] when catalog.GroupsOf().Contains(group):
                await WriteAsync(context, 200, catalog.Group(group));
                return;
            case ["api", "v1"]:
                await WriteAsync(context, 200, catalog.ResourceList(string.Empty, "v1"));
                return;
            case ["apis", var group, var version] when catalog.All.Any(t => t.Group == group && t.Version == version):
                await WriteAsync(context, 200, catalog.ResourceList(group, version));
                return;
            case ["api", "v1", .. var rest]:
                await ResourceAsync(context, string.Empty, "v1", rest);
                return;
            case ["apis", var group, var version, .. var rest]:
                await ResourceAsync(context, group, version, rest);
                return;
            default:
                throw new ApiStatusException(404, "NotFound", "the server could not find the requested resource");
        }
    }

    private async Task ResourceAsync(HttpContext context, string group, string version, string[] rest)
    {
        string? ns = null;
        string plural;
        string? name = null;
        string? sub = null;
        if (rest is ["namespaces", var n, var p, ..] && catalog.Find(group, version, p) is { Namespaced: true })
        {
            ns = n;
            plural = p;
            name = rest.Length > 3 ? rest[3] : null;
            sub = rest.Length > 4 ? rest[4] : null;
        }
        else if (rest.Length >= 1)
        {
            plural = rest[0];
            name = rest.Length > 1 ? rest[1] : null;
            sub = rest.Length > 2 ? rest[2] : null;
        }
        else
        {
            throw new ApiStatusException(404, "NotFound", "the server could not find the requested resource");
        }

        var type = catalog.Find(group, version, plural)
            ?? throw new ApiStatusException(404, "NotFound", $"the server could not find the requested resource ({plural}.{group}/{version})");
        if (sub is not null && !type.Subresources.Contains(sub))
        {
            throw new ApiStatusException(404, "NotFound", $"the server could not find the requested resource ({plural}/{sub})");
        }

        var query = context.Request.Query;
        var method = context.Request.Method;
        if (name is null)
        {
            var selector = LabelSelector.Parse(query["labelSelector"]);
            var nameField = FieldName(query["fieldSelector"]);
            if (method == "GET" && query["watch"] is var watch && (watch == "true" || watch == "1"))
            {
                await WatchAsync(context, type, ns, selector, nameField);
                return;
            }

            if (method == "GET")
            {
                var items = store.List(type, ns, selector, nameField);
                if (WantsTable(context, type))
                {
                    await WriteAsync(context, 200, Table(type, items));
                    return;
                }

                await WriteAsync(context, 200, new JsonObject
                {
                    ["kind"] = type.Kind + "List",
                    ["apiVersion"] = type.GroupVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = store.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray([.. items]),
                });
                return;
            }
        }
        else if (method == "GET" && sub is null && WantsTable(context, type))
        {
            await WriteAsync(context, 200, Table(type, [store.Get(type, ns, name) ?? throw ApiStatusException.NotFound(type, name)]));
            return;
        }

        // Creates, and everything else on one object, as the store's objects are written and read.
        var (code, answer) = await objects.ServeAsync(context, type, ns, name, sub);
        await WriteAsync(context, code, answer);
    }

    private static string? FieldName(string? fieldSelector)
    {
        if (string.IsNullOrEmpty(fieldSelector))
        {
            return null;
        }

        var parts = fieldSelector.Split('=', 2);
        return parts[0] is "metadata.name" && parts.Length == 2 ? parts[1].TrimStart('=') : throw new ApiStatusException(400, "BadRequest", $"field selector \"{fieldSelector}\" is not supported (metadata.name only)");
    }

    private static async Task WriteAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Compact), context.RequestAborted);
    }
}
