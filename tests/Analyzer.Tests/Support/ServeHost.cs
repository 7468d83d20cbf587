using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Canary.Testing;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Support;

/// <summary>
/// `canary serve` as users run it — the built executable on a loopback port — against the
/// Kubernetes emulator, a Prometheus (or a fault proxy in front of it) and a store, with three API
/// tokens: viewer (in configuration), operator (a mounted file) and admin.
/// </summary>
public sealed class ServeHost : IAsyncDisposable
{
    public const string ViewerToken = "viewer-7f3a9c-secret";
    public const string OperatorToken = "operator-51d2e8-secret";
    public const string AdminToken = "admin-c04b6f-secret";

    private readonly ExternalProcess process;

    private ServeHost(ExternalProcess process, KubernetesEmulator emulator, Uri url, string folder)
    {
        this.process = process;
        Emulator = emulator;
        Url = url;
        Folder = folder;
    }

    public KubernetesEmulator Emulator { get; }

    public Uri Url { get; }

    public string Folder { get; }

    /// <summary>The canary serve process's id (for /proc/ID/status).</summary>
    public int ProcessId => process.Id;

    /// <summary>What canary serve printed (its log).</summary>
    public string Output => process.Output;

    public static async Task<ServeHost> StartAsync(Uri prometheus, string? store = null, bool anonymousRead = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        var emulator = await KubernetesEmulator.StartAsync();
        emulator.InstallCrd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices");
        emulator.InstallCrd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules");
        emulator.InstallCrd("canary.dev", "v1alpha1", "Canary", "canaries");
        var folder = Directory.CreateTempSubdirectory("canary-api-").FullName;
        var operatorFile = Path.Combine(folder, "operator.token");
        await File.WriteAllTextAsync(operatorFile, OperatorToken + "\n");
        var port = FreePort.Next();
        var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        var environment = new Dictionary<string, string>
        {
            ["CANARY__Api__Tokens__0__Name"] = "ci-viewer",
            ["CANARY__Api__Tokens__0__Role"] = "Viewer",
            ["CANARY__Api__Tokens__0__Token"] = ViewerToken,
            ["CANARY__Api__Tokens__1__Name"] = "release-operator",
            ["CANARY__Api__Tokens__1__Role"] = "Operator",
            ["CANARY__Api__Tokens__1__File"] = operatorFile,
            ["CANARY__Api__Tokens__2__Name"] = "platform-admin",
            ["CANARY__Api__Tokens__2__Role"] = "Admin",
            ["CANARY__Api__Tokens__2__Token"] = AdminToken,
            ["CANARY__Api__AnonymousRead"] = anonymousRead ? "true" : "false",
            ["CANARY__Api__MaxBodyBytes"] = "262144",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = ExternalProcess.Start(Path.Combine(AppContext.BaseDirectory, "canary"),
        [
            "serve", "--urls", url.AbsoluteUri.TrimEnd('/'), "--store", store ?? $"sqlite:{Path.Combine(folder, "canary.db")}",
            "--kubeconfig", emulator.WriteKubeconfig(folder), "--prometheus", prometheus.AbsoluteUri,
        ], folder, environment);
        var host = new ServeHost(process, emulator, url, folder);
        using var probe = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"canary serve exited at start:\n{process.Output}");
            }

            try
            {
                using var ready = await probe.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer while starting.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"canary serve was not ready within 60 s:\n{process.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A client of the API; token null sends none.</summary>
    public HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Posts an analysis, checks the 202, and polls its Location until it is no longer Running; returns the last answer and the 202's body.</summary>
    public static async Task<(JsonNode Done, JsonNode Accepted, Uri Location)> RunAnalysisAsync(HttpClient client, string body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var accepted = await client.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), Json(body));
        Assert.True(accepted.StatusCode == System.Net.HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        var location = accepted.Headers.Location!;
        var answer = await ReadJsonAsync(accepted);
        JsonNode? done = null;
        await Poll.UntilAsync(async () =>
        {
            done = await ReadJsonAsync(await client.GetAsync(location));
            return done["status"]!.GetValue<string>() != "Running";
        }, $"analysis {location} to finish", timeout);
        return (done!, answer, location);
    }

    public static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    /// <summary>Checks that the answer is problem+json with the status, and returns it.</summary>
    public static async Task<JsonNode> ProblemAsync(HttpResponseMessage answer, System.Net.HttpStatusCode status)
    {
        ArgumentNullException.ThrowIfNull(answer);
        using (answer)
        {
            var text = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == status, $"{answer.StatusCode}: {text}");
            Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(text)!;
            Assert.Equal((int)status, problem["status"]!.GetValue<int>());
            return problem;
        }
    }

    /// <summary>A client that does not follow redirects, with the token (or none) and the request headers given.</summary>
    public HttpClient BrowserClient(params (string Name, string Value)[] headers)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        foreach (var (name, value) in headers)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
        }

        return client;
    }

    public static async Task<JsonNode> ReadJsonAsync(HttpResponseMessage answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var text = await answer.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException($"not JSON: {text}");
    }

    /// <summary>
    /// Starts a release in namespace e2e-gated (whose live exporters the shared Prometheus scrapes: a
    /// healthy v2): checkout:1.0 is initialized, then checkout:2.0 walks 20 → 50 % and waits at the
    /// confirm-promotion gate, which stays closed unless someone approves.
    /// </summary>
    public void StartGatedRelease(Uri gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        const string Ns = "e2e-gated";
        Emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:1.0"));
        Emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, JsonNode.Parse("""
            {"apiVersion": "canary.dev/v1alpha1", "kind": "Canary", "metadata": {"name": "checkout"},
             "spec": {"targetRef": {"kind": "Deployment", "name": "checkout"}, "router": "istio",
                      "analysis": {"interval": "1s", "window": "15s", "threshold": 5, "minSamples": 5, "stepWeights": [20, 50],
                                   "cohorts": {"control": "version=\"v1\"", "experiment": "version=\"v2\""},
                                   "webhooks": [{"name": "release-manager", "type": "confirm-promotion", "url": "GATE"}],
                                   "config": {"interval": "5s", "step": "1s",
                                              "metrics": [{"name": "error rate", "template": "http-error-rate", "critical": true, "mustHaveData": true}]}}}}
            """.Replace("GATE", gate.AbsoluteUri, StringComparison.Ordinal))!.AsObject());
    }

    /// <summary>Releases checkout:2.0 (after the Canary initialized 1.0).</summary>
    public void ReleaseVersion2() => Emulator.Write("apps", "v1", "deployments", "e2e-gated", Deployment("checkout:2.0"));

    public JsonNode? CanaryStatus() => Emulator.Read("canary.dev", "v1alpha1", "canaries", "e2e-gated", "checkout")?["status"];

    private static JsonObject Deployment(string image) => JsonNode.Parse("""
        {"metadata": {"name": "checkout", "labels": {"app": "checkout"}},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"}},
                               "spec": {"containers": [{"name": "app", "image": "IMAGE", "ports": [{"containerPort": 8080}]}]}}}}
        """.Replace("IMAGE", image, StringComparison.Ordinal))!.AsObject();

    public async ValueTask DisposeAsync()
    {
        process.Dispose();
        await Emulator.DisposeAsync();
    }
}
