using System.Diagnostics;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Serving;

/// <summary>`canary serve` as a real process: its health, an invalid Canary, its metrics, an approval by annotation, a new revision picked up at once.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ServeTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private const string Ns = ServeProcesses.Namespace;
    private ServeProcesses processes = null!;
    private KubernetesEmulator emulator = null!;
    private string folder = null!;

    public async Task InitializeAsync()
    {
        processes = await ServeProcesses.StartAsync(prometheus.Url);
        (emulator, folder) = (processes.Emulator, processes.Folder);
    }

    public async Task DisposeAsync() => await processes.DisposeAsync();

    [Fact]
    public async Task Serve_reports_its_health()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        await using var gate = await GateServer.StartAsync();
        WriteGatedCanaries(gate);
        var port = FreePort.Next();
        using var serve = Serve(Path.Combine(folder, "canary.db"), port: port);
        using var http = Client(port);
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("readyz", UriKind.Relative))).StatusCode);
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
    }

    [Fact]
    public async Task Serve_reports_an_invalid_Canary_in_its_status_with_a_Warning_event()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        await using var gate = await GateServer.StartAsync();
        WriteGatedCanaries(gate);
        using var serve = Serve(Path.Combine(folder, "canary.db"));
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");

        // The invalid Canary: its status and a Warning event name the field.
        var broken = emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "broken")!["status"]!;
        Assert.Equal("Invalid", broken["phase"]!.GetValue<string>());
        Assert.Contains("spec.analysis.stepWeights[1]: 20 is not above the step before it (50)", broken["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        var events = JsonNode.Parse(await new HttpClient().GetStringAsync(new Uri(emulator.Url, $"api/v1/namespaces/{Ns}/events")))!["items"]!.AsArray();
        Assert.Contains(events, e => e!["involvedObject"]!["name"]!.GetValue<string>() == "broken" && e["type"]!.GetValue<string>() == "Warning" && e["reason"]!.GetValue<string>() == "Invalid");
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
    }

    [Fact]
    public async Task Serve_exports_the_rollouts_metrics_for_Prometheus()
    {
        await using var gate = await GateServer.StartAsync();
        WriteGatedCanaries(gate);
        var port = FreePort.Next();
        using var serve = Serve(Path.Combine(folder, "canary.db"), port: port);
        using var http = Client(port);
        await ReleaseToTheGateAsync(serve);
        var metrics = await http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Contains($"canary_rollout_canary_weight{{rollout=\"{Ns}/checkout\"}} 50", metrics, StringComparison.Ordinal);
        Assert.Contains($"canary_rollout_phase{{rollout=\"{Ns}/checkout\",phase=\"WaitingPromotion\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Contains($"canary_analyses_total{{rollout=\"{Ns}/checkout\",verdict=\"Pass\"}}", metrics, StringComparison.Ordinal);
        Assert.Contains($"canary_analysis_duration_seconds_count{{rollout=\"{Ns}/checkout\"}}", metrics, StringComparison.Ordinal);
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
    }

    [Fact]
    public async Task Serve_takes_an_approval_by_annotation()
    {
        await using var gate = await GateServer.StartAsync();
        WriteGatedCanaries(gate);
        using var serve = Serve(Path.Combine(folder, "canary.db"));
        await ReleaseToTheGateAsync(serve);

        // kubectl annotate canary checkout canary.dev/command=approve
        var kubeconfig = emulator.WriteKubeconfig(folder);
        await ExternalProcess.RunAsync("kubectl", ["--kubeconfig", kubeconfig, "annotate", "canaries.canary.dev", "checkout", "-n", Ns, "canary.dev/command=approve"], folder, TimeSpan.FromSeconds(60));
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "Succeeded", "the approved release did not finish");
        Assert.Null(emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "checkout")!["metadata"]!["annotations"]?["canary.dev/command"]);
        Assert.Contains(JsonNode.Parse(await new HttpClient().GetStringAsync(new Uri(emulator.Url, $"api/v1/namespaces/{Ns}/events")))!["items"]!.AsArray(),
            e => e!["involvedObject"]!["name"]!.GetValue<string>() == "checkout" && e["reason"]!.GetValue<string>() == "Succeeded");
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
    }

    [Fact]
    public async Task A_new_revision_of_the_target_is_picked_up_at_once_not_at_the_next_interval()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        var canary = Canary();
        canary["spec"]!["analysis"]!["interval"] = "1h";
        emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:1.0"));
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);
        using var serve = Serve(Path.Combine(folder, "canary.db"));
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");

        // The next scheduled tick is an hour away; the watch on the target ticks now.
        emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:2.0", replicas: 0));
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "Progressing", "the new revision was not picked up");
        Assert.Contains("its target e2e-healthy/checkout changed; ticking now", Output(), StringComparison.Ordinal);
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
    }

    /// <summary>
    /// Deployment checkout:1.0 with a Canary of one step (50 %) held by a confirm-promotion gate, and an invalid Canary "broken"
    /// beside it.
    /// </summary>
    private void WriteGatedCanaries(GateServer gate)
    {
        var canary = Canary();
        canary["spec"]!["analysis"]!["stepWeights"] = new JsonArray(50);
        canary["spec"]!["analysis"]!["webhooks"] = new JsonArray(new JsonObject { ["name"] = "release-manager", ["type"] = "confirm-promotion", ["url"] = new Uri(gate.Url, "promote").AbsoluteUri });
        emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:1.0"));
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);
        var invalid = Canary();
        invalid["metadata"]!["name"] = "broken";
        invalid["spec"]!["analysis"]!["stepWeights"] = new JsonArray(50, 20);
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, invalid);
    }

    /// <summary>Waits until the Canary is initialized, releases checkout:2.0 and waits until it waits for promotion.</summary>
    private async Task ReleaseToTheGateAsync(Process serve)
    {
        await prometheus.WaitForScrapesAsync(Ns);
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");
        emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:2.0", replicas: 0));
        await WaitAsync(serve, () => Status()?["phase"]?.GetValue<string>() == "WaitingPromotion", "the release did not wait for promotion");
    }

    private static HttpClient Client(int port) => new() { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };

    private Process Serve(string store, int? port = null) => processes.Serve(store, port: port);

    private string Output() => processes.Output();

    private Task WaitAsync(Process process, Func<bool> done, string what) => processes.WaitAsync(process, done, what);

    private JsonNode? Status() => processes.Status();

    private static JsonObject Canary() => ServeProcesses.Canary();

    private static JsonObject Deployment(string image, int replicas = 2) => ServeProcesses.Deployment(image, replicas);
}
