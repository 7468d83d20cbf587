using Canary.Analyzer.Tests.Support;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Testing;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>`canary serve` as a real process: it runs a release by itself, and a SIGKILL in the middle loses nothing.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ServeCrashTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private const string Ns = "e2e-healthy";
    private readonly System.Text.StringBuilder output = new();
    private readonly List<Process> started = [];
    private KubernetesEmulator emulator = null!;
    private string folder = null!;

    public async Task InitializeAsync()
    {
        emulator = await KubernetesEmulator.StartAsync();
        folder = Directory.CreateTempSubdirectory("canary-serve-").FullName;
        emulator.InstallCrd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices");
        emulator.InstallCrd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules");
        emulator.InstallCrd("canary.dev", "v1alpha1", "Canary", "canaries");
    }

    public async Task DisposeAsync()
    {
        // A failed assertion must not leave a canary serve running after the test.
        foreach (var process in started)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
                // Already disposed by its test: it was stopped there.
            }
        }

        await emulator.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_release_continues_after_SIGKILL_from_the_same_step_promoting_once()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        await using var gate = await GateServer.StartAsync();
        // The traffic gate holds the release at 40 %: the kill comes at that step, not wherever the timer lands.
        gate.OpenWhen = body => body["canaryWeight"]!.GetValue<int>() < 40;
        var store = Path.Combine(folder, "canary.db");
        var canary = Canary();
        canary["spec"]!["analysis"]!["webhooks"] = new JsonArray(new JsonObject { ["name"] = "traffic", ["type"] = "confirm-traffic-increase", ["url"] = new Uri(gate.Url, "traffic").AbsoluteUri });
        emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:1.0"));
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);

        using (var first = Serve(store))
        {
            await WaitAsync(first, () => Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");
            emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:2.0", replicas: 0));
            await WaitAsync(first, () => Weight() == 40 && Status()?["reason"]?.GetValue<string>()?.Contains("waiting for the confirm-traffic-increase gate", StringComparison.Ordinal) == true,
                "the release was not held at 40 % by the gate");
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        IReadOnlyList<DecisionRecord> decisionsBefore;
        IReadOnlyList<AnalysisRecord> analysesBefore;
        await using (var history = new SqliteAnalysisStore(store))
        {
            (decisionsBefore, analysesBefore) = (await history.AllDecisionsAsync($"{Ns}/checkout"), await history.AllAnalysesAsync($"{Ns}/checkout"));
        }

        Assert.Equal(40, decisionsBefore[^1].CanaryWeight);
        gate.OpenWhen = _ => true;
        using (var second = Serve(store))
        {
            await WaitAsync(second, () => Status()?["phase"]?.GetValue<string>() is "Succeeded" or "Failed", "the release did not finish after the restart");
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }

        Assert.Equal("Succeeded", Status()!["phase"]!.GetValue<string>());
        Assert.Equal("checkout:2.0", emulator.Read("apps", "v1", "deployments", Ns, "checkout-primary")!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        await using var after = new SqliteAnalysisStore(store);
        var decisions = await after.AllDecisionsAsync($"{Ns}/checkout");
        var analyses = await after.AllAnalysesAsync($"{Ns}/checkout");
        // What was stored before the kill is the same records after it.
        Assert.Equal(decisionsBefore.Select(d => d.Id), decisions.Take(decisionsBefore.Count).Select(d => d.Id));
        Assert.Equal(analysesBefore.Select(a => (a.Id, a.ResultJson)), analyses.Take(analysesBefore.Count).Select(a => (a.Id, a.ResultJson)));
        // Continued from 40 %, not restarted: 40 → 60 → promoted (back to 0 on the new primary).
        var weights = new List<int> { 40 };
        foreach (var weight in decisions.Skip(decisionsBefore.Count).Select(d => d.CanaryWeight).Where(w => w != weights[^1]))
        {
            weights.Add(weight);
        }

        Assert.Equal([40, 60, 0], weights);
        Assert.Single(decisions, d => d.Phase == "Promoting" && d.Reason.Contains(": promoting revision", StringComparison.Ordinal));
    }

    private Process Serve(string store, System.Text.StringBuilder? own = null, int? port = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "exec", Path.Combine(AppContext.BaseDirectory, "canary.dll"), "serve", "--urls", $"http://127.0.0.1:{port ?? FreePort.Next()}",
            "--store", store.StartsWith("postgres:", StringComparison.Ordinal) ? store : $"sqlite:{store}", "--kubeconfig", emulator.WriteKubeconfig(folder),
            "--prometheus", prometheus.Url.AbsoluteUri,
        })
        {
            start.ArgumentList.Add(argument);
        }

        // Short cluster check-ins, so a replica that dies is noticed within seconds.
        start.Environment["CANARY__Canary__ClusterCheckin"] = "00:00:01";
        var process = Process.Start(start)!;
        started.Add(process);
        process.OutputDataReceived += (_, e) => { Log(e.Data); Append(own, e.Data); };
        process.ErrorDataReceived += (_, e) => { Log(e.Data); Append(own, e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(System.Text.StringBuilder? own, string? line)
    {
        if (own is not null)
        {
            lock (own)
            {
                own.AppendLine(line);
            }
        }
    }

    private void Log(string? line)
    {
        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private string Output()
    {
        lock (output)
        {
            var text = output.ToString();
            return string.Join("\n", text.Split('\n').Where(l => !l.Contains("waiting for a new revision", StringComparison.Ordinal)).Take(40));
        }
    }

    private async Task WaitAsync(Process process, Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!done())
        {
            Assert.False(process.HasExited, $"canary serve exited with {(process.HasExited ? process.ExitCode : 0)}:\n{Output()}");
            Assert.True(DateTime.UtcNow < deadline, $"{what} within 90 s; canary serve said:\n{Output()}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Of_two_replicas_on_PostgreSQL_the_survivor_takes_over_the_rollout()
    {
        var run = await RunTwoReplicasKillingOneAsync();
        Assert.Equal("Succeeded", Status()!["phase"]!.GetValue<string>());
        Assert.True(Decisions(run.SurvivorLog).Count > run.SurvivorBefore, "the survivor made no decision after the other replica died");
    }

    [Fact]
    public async Task Two_replicas_on_PostgreSQL_run_each_tick_of_their_rollout_once()
    {
        var run = await RunTwoReplicasKillingOneAsync();
        Assert.DoesNotContain("tick skipped", run.LogA.ToString() + run.LogB.ToString(), StringComparison.Ordinal);
        var (decisions, analyses) = (run.Decisions, run.Analyses);

        // Nothing lost, nothing extra: every analysis either replica logged is stored, and every stored one was logged by one
        // of them (but the one the kill may have cut off between storing and logging).
        var logged = AnalysisIds(run.LogA).Concat(AnalysisIds(run.LogB)).ToList();
        Assert.Equal(logged.Count, logged.Distinct().Count());
        Assert.Empty(logged.Except(analyses.Select(a => a.Id)));
        Assert.InRange(analyses.Count - logged.Count, 0, 1);
        Assert.Equal(analyses.Select(a => a.Id).Order(), decisions.Where(d => d.AnalysisId is not null).Select(d => d.AnalysisId!.Value).Order());

        // Each scheduled tick ran once in the cluster: over the release, about one decision per interval (two schedulers would
        // make two), besides the ticks the target's changes trigger at once (each replica's watcher triggers one per change).
        var release = decisions.SkipWhile(d => d.Phase != "Progressing").ToList();
        var seconds = (release[^1].At - release[0].At).TotalSeconds;
        var triggered = TriggeredTicks(run.LogA) + TriggeredTicks(run.LogB);
        Assert.True(release.Count <= (1.25 * seconds) + triggered + 2, $"{release.Count} decisions in {seconds:0.0} s at a 1 s interval, {triggered} triggered");
        Assert.True(release.Count >= 0.5 * seconds, $"only {release.Count} decisions in {seconds:0.0} s at a 1 s interval: ticks were lost");
        Assert.Single(decisions, d => d.Phase == "Promoting" && d.Reason.Contains(": promoting revision", StringComparison.Ordinal));
    }

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

    /// <summary>What the two-replica run left: each replica's log, the survivor's, how many decisions it had logged at the kill, and the stored history.</summary>
    private sealed record TwoReplicas(
        System.Text.StringBuilder LogA, System.Text.StringBuilder LogB, System.Text.StringBuilder SurvivorLog, int SurvivorBefore,
        IReadOnlyList<DecisionRecord> Decisions, IReadOnlyList<AnalysisRecord> Analyses);

    /// <summary>
    /// Two canary serve replicas on one PostgreSQL store run a release; at 40 % the one that ran more of the ticks is killed and
    /// the other must finish it.
    /// </summary>
    private async Task<TwoReplicas> RunTwoReplicasKillingOneAsync()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        try
        {
            var store = "postgres:" + await postgres.CreateDatabaseAsync();
            emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:1.0"));
            emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, Canary());
            var logA = new System.Text.StringBuilder();
            var logB = new System.Text.StringBuilder();
            using var a = Serve(store, logA);
            using var b = Serve(store, logB);
            await WaitAsync(a, () => Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");
            emulator.Write("apps", "v1", "deployments", Ns, Deployment("checkout:2.0", replicas: 0));
            await WaitAsync(a, () => Weight() >= 40, "the release did not reach 40 %");

            // Kill the replica that ran more of the ticks so far; the other one must carry on.
            var (victim, survivor, survivorLog) = Decisions(logA).Count >= Decisions(logB).Count ? (a, b, logB) : (b, a, logA);
            var survivorBefore = Decisions(survivorLog).Count;
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync();
            await WaitAsync(survivor, () => Status()?["phase"]?.GetValue<string>() is "Succeeded" or "Failed", "the survivor did not finish the release");
            survivor.Kill(entireProcessTree: true);
            await survivor.WaitForExitAsync();

            await using var history = new Canary.Analyzer.Storage.PostgresAnalysisStore(store["postgres:".Length..]);
            return new TwoReplicas(logA, logB, survivorLog, survivorBefore, await history.AllDecisionsAsync($"{Ns}/checkout"), await history.AllAnalysesAsync($"{Ns}/checkout"));
        }
        finally
        {
            await postgres.DisposeAsync();
        }
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

    /// <summary>The decision lines a replica logged (one per tick it ran), oldest first; each carries its time.</summary>
    private static List<string> Decisions(System.Text.StringBuilder log)
    {
        lock (log)
        {
            return [.. log.ToString().Split('\n').Where(l => l.Contains($"rollout {Ns}/checkout: ", StringComparison.Ordinal) && l.Contains(" at ", StringComparison.Ordinal) && l.Contains(" %: ", StringComparison.Ordinal))];
        }
    }

    /// <summary>The ids of the analyses a replica logged with its decisions.</summary>
    private static List<Guid> AnalysisIds(System.Text.StringBuilder log) =>
        [.. Decisions(log).Select(l => System.Text.RegularExpressions.Regex.Match(l, @"\(analysis ([0-9a-f-]{36})\)")).Where(m => m.Success).Select(m => Guid.Parse(m.Groups[1].Value))];

    /// <summary>Ticks a replica fired at once because the target changed (besides the scheduled ones).</summary>
    private static int TriggeredTicks(System.Text.StringBuilder log)
    {
        lock (log)
        {
            return log.ToString().Split('\n').Count(l => l.Contains("changed; ticking now", StringComparison.Ordinal));
        }
    }

    private JsonNode? Status() => emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "checkout")?["status"];

    private int Weight() =>
        emulator.Read("networking.istio.io", "v1beta1", "virtualservices", Ns, "checkout")?["spec"]?["http"]?.AsArray()
            .FirstOrDefault(r => r?["name"]?.GetValue<string>() == "canary")?["route"]?[1]?["weight"]?.GetValue<int>() ?? 0;


    private static JsonObject Canary() => JsonNode.Parse("""
        {"apiVersion": "canary.dev/v1alpha1", "kind": "Canary", "metadata": {"name": "checkout"},
         "spec": {"targetRef": {"kind": "Deployment", "name": "checkout"}, "router": "istio",
                  "analysis": {"interval": "1s", "window": "15s", "threshold": 3, "minSamples": 5, "stepWeights": [20, 40, 60],
                               "cohorts": {"control": "version=\"v1\"", "experiment": "version=\"v2\""},
                               "config": {"interval": "5s", "step": "1s",
                                          "metrics": [{"name": "error rate", "template": "http-error-rate", "critical": true, "mustHaveData": true}]}}}}
        """)!.AsObject();

    private static JsonObject Deployment(string image, int replicas = 2) => JsonNode.Parse("""
        {"metadata": {"name": "checkout", "labels": {"app": "checkout"}},
         "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"}},
                               "spec": {"containers": [{"name": "app", "image": "IMAGE", "ports": [{"containerPort": 8080}]}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("IMAGE", image, StringComparison.Ordinal))!.AsObject();
}
