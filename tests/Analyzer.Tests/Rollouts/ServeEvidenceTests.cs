using System.Text.Json.Nodes;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Judge.Sequential;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>`canary serve` as a real process on sequential metrics: a tick without evidence says so on the Canary; a SIGKILL in the middle of a release resumes with the same evidence.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ServeEvidenceTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private const string Ns = ServeProcesses.Namespace;
    private ServeProcesses processes = null!;

    public async Task InitializeAsync() => processes = await ServeProcesses.StartAsync(prometheus.Url);

    public async Task DisposeAsync() => await processes.DisposeAsync();

    [Fact]
    public async Task A_tick_without_evidence_sets_the_Evidence_condition_and_a_Warning_event()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        var canary = ServeProcesses.Canary();
        // The canary's cohort selects nothing: every interval has no requests in it.
        canary["spec"]!["analysis"]!["cohorts"]!["experiment"] = "version=\"v9\"";
        canary["spec"]!["analysis"]!["config"] = JsonNode.Parse("""{"metrics": [{"name": "errors", "template": "http-errors", "mustHaveData": true}]}""");
        processes.Emulator.Write("apps", "v1", "deployments", Ns, ServeProcesses.Deployment("checkout:1.0"));
        processes.Emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);
        using var serve = processes.Serve(Path.Combine(processes.Folder, "canary.db"));
        await processes.WaitAsync(serve, () => processes.Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");
        processes.Emulator.Write("apps", "v1", "deployments", Ns, ServeProcesses.Deployment("checkout:2.0", replicas: 0));
        await processes.WaitAsync(serve, () => processes.Status()?["conditions"]?[0]?["reason"]?.GetValue<string>() == "NoEvidence", "no NoEvidence condition");

        var condition = processes.Status()!["conditions"]![0]!;
        Assert.Equal(("Evidence", "False"), (condition["type"]!.GetValue<string>(), condition["status"]!.GetValue<string>()));
        // Later ticks without evidence keep the time the condition became False.
        var since = condition["lastTransitionTime"]!.GetValue<string>();
        // The status's own time is each tick's: wait for a tick in a later second, still without evidence.
        await processes.WaitAsync(serve, () => processes.Status() is { } status && status["lastTransitionTime"]?.GetValue<string>() != since
            && status["conditions"]?[0]?["status"]?.GetValue<string>() == "False", "no later tick without evidence");
        Assert.Equal(since, processes.Status()!["conditions"]![0]!["lastTransitionTime"]!.GetValue<string>());
        Assert.StartsWith("no evidence (holding at 20 %, not a failed check): no requests in a cohort since", condition["message"]!.GetValue<string>(), StringComparison.Ordinal);
        using var http = new HttpClient();
        var events = JsonNode.Parse(await http.GetStringAsync(new Uri(processes.Emulator.Url, $"api/v1/namespaces/{Ns}/events")))!["items"]!.AsArray();
        Assert.Contains(events, e => e!["type"]!.GetValue<string>() == "Warning" && e["reason"]!.GetValue<string>() == "NoEvidence"
            && e["message"]!.GetValue<string>().Contains("no requests in a cohort since", StringComparison.Ordinal));
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
    }

    [Fact]
    public async Task After_SIGKILL_the_next_interval_continues_the_stored_evidence_from_where_it_ended()
    {
        await prometheus.WaitForScrapesAsync(Ns);
        await using var gate = await GateServer.StartAsync();
        // The traffic gate holds the release at 40 %: its analyses go on, each feeding the latency evidence.
        gate.OpenWhen = body => body["canaryWeight"]!.GetValue<int>() < 40;
        var store = Path.Combine(processes.Folder, "canary.db");
        var canary = ServeProcesses.Canary();
        canary["spec"]!["analysis"]!["webhooks"] = new JsonArray(new JsonObject { ["name"] = "traffic", ["type"] = "confirm-traffic-increase", ["url"] = new Uri(gate.Url, "traffic").AbsoluteUri });
        canary["spec"]!["analysis"]!["config"] = JsonNode.Parse("""{"metrics": [{"name": "latency", "template": "http-latency", "mustHaveData": true}]}""");
        processes.Emulator.Write("apps", "v1", "deployments", Ns, ServeProcesses.Deployment("checkout:1.0"));
        processes.Emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);

        using (var first = processes.Serve(store))
        {
            await processes.WaitAsync(first, () => processes.Status()?["phase"]?.GetValue<string>() == "Initialized", "the Canary was not initialized");
            processes.Emulator.Write("apps", "v1", "deployments", Ns, ServeProcesses.Deployment("checkout:2.0", replicas: 0));
            await processes.WaitAsync(first, () => StoredEvidence(store)?.Edges[0].Informative >= 3, "the latency evidence did not reach three intervals");
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        var (before, until) = (StoredEvidence(store)!, StoredState(store)!.CountedUntil!.Value);
        var analysesBefore = await AnalysesAsync(store);
        using (var second = processes.Serve(store))
        {
            await processes.WaitAsync(second, () => Latency(AnalysesAsync(store).GetAwaiter().GetResult().Skip(analysesBefore.Count).FirstOrDefault(HasEvidence)) is not null,
                "no analysis with latency evidence after the restart");
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }

        var after = (await AnalysesAsync(store)).Skip(analysesBefore.Count).First(HasEvidence);
        var result = JsonNode.Parse(after.ResultJson)!;
        // Its interval starts where the stored evidence ended: no request counted twice or lost across the kill.
        Assert.Equal(AnalysisDocumentTime(until), result["window"]!["counted"]!["start"]!.GetValue<string>());
        // Its evidence is the stored state updated by this interval's counts (recomputed here from the analysis's own series).
        var series = result["series"]!["latency"]!;
        long[] Buckets(string cohort) => [.. series[cohort]!["buckets"]![0]!.AsArray().Select(b => b!.GetValue<long>())];
        var (_, expected) = HistogramSequence.Update(before, new HistogramInterval(Buckets("control"), Buckets("experiment")), new SequentialTest(DefaultAlpha, SequentialSide.Increase));
        Assert.Equal(expected, Latency(after)!["sequential"]!["evidence"]![0]!.GetValue<double>(), expected * 1e-9);
    }

    /// <summary>α of the Judge's default confidence level (the config sets none), in decimal as the Judge computes it.</summary>
    private static double DefaultAlpha => (double)(1m - (decimal)new Canary.Judge.Config.JudgeSettings().ConfidenceLevel);

    private static bool HasEvidence(AnalysisRecord analysis) => Latency(analysis)?["sequential"]?["evidence"]?.AsArray().Count == 1;

    private static JsonNode? Latency(AnalysisRecord? analysis) =>
        analysis is null ? null : JsonNode.Parse(analysis.ResultJson)?["metrics"]?.AsArray().FirstOrDefault(m => m?["name"]?.GetValue<string>() == "latency");

    private static string AnalysisDocumentTime(DateTimeOffset at) => Canary.Analyzer.Metrics.AnalysisDocument.Format(at);

    private static RolloutState? StoredState(string store)
    {
        if (!File.Exists(store))
        {
            return null;
        }

        var history = new SqliteAnalysisStore(store);
        try
        {
            return history.GetRolloutAsync($"{Ns}/checkout", CancellationToken.None).GetAwaiter().GetResult()?.ReadState();
        }
        finally
        {
            history.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static HistogramSequenceState? StoredEvidence(string store) => StoredState(store)?.Evidence?.GetValueOrDefault("latency")?.Histogram;

    private static async Task<IReadOnlyList<AnalysisRecord>> AnalysesAsync(string store)
    {
        await using var history = new SqliteAnalysisStore(store);
        return await history.AllAnalysesAsync($"{Ns}/checkout");
    }
}
