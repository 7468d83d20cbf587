using System.Diagnostics;
using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>`canary serve` as a real process: it runs a release by itself, and a SIGKILL in the middle loses nothing.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ServeCrashTests(PrometheusFixture prometheus) : IAsyncLifetime
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

    private Process Serve(string store, System.Text.StringBuilder? own = null) => processes.Serve(store, own);

    private Task WaitAsync(Process process, Func<bool> done, string what) => processes.WaitAsync(process, done, what);

    private JsonNode? Status() => processes.Status();

    private static JsonObject Canary() => ServeProcesses.Canary();

    private static JsonObject Deployment(string image, int replicas = 2) => ServeProcesses.Deployment(image, replicas);

    private int Weight() =>
        emulator.Read("networking.istio.io", "v1beta1", "virtualservices", Ns, "checkout")?["spec"]?["http"]?.AsArray()
            .FirstOrDefault(r => r?["name"]?.GetValue<string>() == "canary")?["route"]?[1]?["weight"]?.GetValue<int>() ?? 0;
}
