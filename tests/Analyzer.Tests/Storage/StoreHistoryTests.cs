using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Workloads;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Storage;

/// <summary>A rollout's history stays bounded: idle ticks keep no rows, and every read is a page. Run on SQLite and on a real PostgreSQL.</summary>
public abstract class StoreHistoryContract
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);

    internal abstract Task<IAnalysisStore> NewStoreAsync();

    [Fact]
    public async Task An_idle_rollout_keeps_at_most_two_decision_rows_a_day()
    {
        await using var store = await NewStoreAsync();
        var state = new RolloutState { Phase = RolloutPhase.Succeeded, Revision = "r2", PrimaryRevision = "r2", PhaseSince = T0 };
        long? version = null;

        // One day at a 30 s interval, each tick decided by the state machine for a Succeeded rollout whose workloads are ready and unchanged.
        for (var tick = 0; tick < 2880; tick++)
        {
            var at = T0.AddSeconds(30 * tick);
            var observation = new Observation { Now = at, TargetRevision = "r2", Canary = WorkloadReadiness.Ready, PrimaryRevision = "r2", Primary = WorkloadReadiness.Ready, Commands = [] };
            var decided = RolloutStateMachine.Decide(new RolloutSpec(), state, observation);
            var decision = new DecisionRecord(Guid.NewGuid(), "shop/checkout", at, decided.State.Phase.ToString(), decided.State.CanaryWeight, decided.Verdict.ToString(), decided.Reason, "[]", null)
            {
                Revision = decided.State.Revision,
            };
            version = await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(decided.State), decision, null, version), CancellationToken.None);
            state = decided.State;
        }

        var kept = Assert.Single(await store.AllDecisionsAsync("shop/checkout"));
        Assert.Equal(("Succeeded", "idle: the primary runs r2"), (kept.Phase, kept.Reason));
        Assert.Equal(T0.AddSeconds(30 * 2879), (await store.GetRolloutAsync("shop/checkout", CancellationToken.None))!.UpdatedAt);
    }

    [Fact]
    public async Task A_tick_that_applied_a_command_is_kept_even_when_nothing_else_changed()
    {
        await using var store = await NewStoreAsync();
        var state = new RolloutState { Phase = RolloutPhase.WaitingPromotion, CanaryWeight = 50 };
        var first = Decision(T0, 50, "waiting for approval");
        var version = await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(state), first, null, null), CancellationToken.None);
        await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(state), Decision(T0.AddSeconds(10), 50, "waiting for approval") with { Commands = "pause" }, null, version), CancellationToken.None);

        Assert.Equal([null, "pause"], (await store.AllDecisionsAsync("shop/checkout")).Select(d => d.Commands));
    }

    [Fact]
    public async Task Paging_visits_every_decision_once_newest_first()
    {
        await using var store = await NewStoreAsync();
        long? version = null;
        for (var i = 0; i < 23; i++)
        {
            version = await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(new RolloutState { CanaryWeight = i }), Decision(T0.AddSeconds(i), i, $"step {i}"), null, version), CancellationToken.None);
        }

        var seen = new List<int>();
        var pages = 0;
        string? after = null;
        do
        {
            var page = await store.DecisionsAsync("shop/checkout", new PageRequest(5, after), CancellationToken.None);
            Assert.True(page.Items.Count <= 5);
            seen.AddRange(page.Items.Select(d => d.CanaryWeight));
            after = page.Next;
            pages++;
        }
        while (after is not null);

        Assert.Equal(Enumerable.Range(0, 23).Reverse(), seen);
        Assert.Equal(5, pages);
    }

    [Fact]
    public async Task Paging_visits_decisions_of_the_same_instant_once_each()
    {
        await using var store = await NewStoreAsync();
        long? version = null;
        for (var i = 0; i < 7; i++)
        {
            version = await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(new RolloutState { CanaryWeight = i }), Decision(T0, i, $"same instant {i}"), null, version), CancellationToken.None);
        }

        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await store.DecisionsAsync("shop/checkout", new PageRequest(2, after), CancellationToken.None);
            seen.AddRange(page.Items.Select(d => d.Reason));
            after = page.Next;
        }
        while (after is not null);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"same instant {i}").Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_cursor_the_store_did_not_give_is_refused()
    {
        await using var store = await NewStoreAsync();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => store.AnalysesAsync("shop/checkout", new PageRequest(After: "yesterday"), CancellationToken.None));
        Assert.StartsWith("\"yesterday\" is not a page cursor", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_weight_history_has_at_most_the_points_asked_for()
    {
        await using var store = await NewStoreAsync();
        var points = await WeightHistoryOf2000MinutesAsync(store);
        Assert.InRange(points.Count, 90, 100);
        Assert.Equal(T0, points[0].At);
        Assert.Equal(points.OrderBy(p => p.At), points);
    }

    [Fact]
    public async Task The_weight_history_keeps_a_short_step_visible()
    {
        await using var store = await NewStoreAsync();
        var points = await WeightHistoryOf2000MinutesAsync(store);
        Assert.Contains(points, p => p.Weight == 40);
    }

    [Fact]
    public async Task A_cancelled_analysis_stays_cancelled_whatever_its_runner_saves_after()
    {
        await using var store = await NewStoreAsync();
        var running = new RequestedAnalysis(Guid.NewGuid(), "checkout", T0, T0, RequestedAnalysis.Running, null, null, "{}", null, null, "ci");
        await store.SaveRequestedAnalysisAsync(running, CancellationToken.None);
        Assert.True(await store.CancelRequestedAnalysisAsync(running.Id, "cancelled by ci", T0.AddMinutes(1), CancellationToken.None));
        await store.SaveRequestedAnalysisAsync(running with { Status = RequestedAnalysis.Succeeded, Verdict = "Pass", UpdatedAt = T0.AddMinutes(2) }, CancellationToken.None);

        var stored = (await store.GetRequestedAnalysisAsync(running.Id, CancellationToken.None))!;
        Assert.Equal((RequestedAnalysis.Cancelled, "cancelled by ci", null), (stored.Status, stored.Error, stored.Verdict));
        Assert.False(await store.TouchRequestedAnalysisAsync(running.Id, T0.AddMinutes(3), CancellationToken.None));
    }

    /// <summary>2,000 decisions over 2,000 minutes, one minute at 40 % in the middle; returns their weight history of at most 100 points.</summary>
    private static async Task<IReadOnlyList<WeightPoint>> WeightHistoryOf2000MinutesAsync(IAnalysisStore store)
    {
        long? version = null;
        for (var i = 0; i < 2000; i++)
        {
            var weight = i == 1000 ? 40 : i % 2 == 0 ? 10 : 20;
            version = await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(new RolloutState { CanaryWeight = weight }), Decision(T0.AddMinutes(i), weight, $"step {i}"), null, version), CancellationToken.None);
        }

        return await store.WeightHistoryAsync("shop/checkout", 100, CancellationToken.None);
    }

    private static DecisionRecord Decision(DateTimeOffset at, int weight, string reason) =>
        new(Guid.NewGuid(), "shop/checkout", at, "Progressing", weight, "Advance", reason, "[]", null);
}

public sealed class SqliteStoreHistoryTests : StoreHistoryContract
{
    internal override async Task<IAnalysisStore> NewStoreAsync()
    {
        var store = new SqliteAnalysisStore(Path.Combine(Directory.CreateTempSubdirectory("canary-store-").FullName, "canary.db"));
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}

[Collection(SharedPostgres.Name)]
public sealed class PostgresStoreHistoryTests(PostgresServer postgres) : StoreHistoryContract
{
    internal override async Task<IAnalysisStore> NewStoreAsync()
    {
        var store = new PostgresAnalysisStore(await postgres.CreateDatabaseAsync());
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}
