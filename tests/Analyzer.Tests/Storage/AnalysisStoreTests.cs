using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Storage;

/// <summary>The store's behaviour, run against SQLite and against a real PostgreSQL.</summary>
public abstract class AnalysisStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    internal abstract Task<IAnalysisStore> NewStoreAsync();

    /// <summary>Runs a query with one number as its answer on the database of the store made last, beside the store.</summary>
    protected abstract Task<long> ScalarAsync(string sql);

    [Fact]
    public async Task A_saved_tick_reads_back_whole()
    {
        await using var store = await NewStoreAsync();
        var state = new RolloutState { Phase = RolloutPhase.Progressing, Revision = "r2", PrimaryRevision = "r1", Step = 1, CanaryWeight = 10, FailedChecks = 1, WeightSince = T0, LastScore = 87.5 };
        var analysis = new AnalysisRecord(Guid.NewGuid(), "shop/checkout", T0, "Marginal", 87.5, false, """{"score": 87.5}""", """{"error rate": {"control": "…", "experiment": "…"}}""");
        var decision = Decision(T0, "Progressing", 10, "Hold", "analysis marginal (score 87.5)", analysis.Id);
        var version = await store.SaveTickAsync(new TickRecord("shop/checkout", RolloutStates.Write(state), decision, analysis, null), CancellationToken.None);
        Assert.Equal(1, version);

        var stored = (await store.GetRolloutAsync("shop/checkout", CancellationToken.None))!;
        Assert.Equal(state, stored.ReadState());
        Assert.Equal(1, stored.Version);
        Assert.Equal([analysis], await store.AllAnalysesAsync("shop/checkout"));
        Assert.Equal([decision], await store.AllDecisionsAsync("shop/checkout"));
        Assert.Null(await store.GetRolloutAsync("shop/other", CancellationToken.None));
    }

    [Fact]
    public async Task Requested_analyses_whose_replica_stopped_beating_are_failed()
    {
        await using var store = await NewStoreAsync();
        var (silent, _, _) = await SaveBeatingSilentFinishedAsync(store);
        Assert.Equal(1, await store.AbandonRunningAnalysesAsync("its replica stopped", T0.AddMinutes(3), CancellationToken.None));
        var lost = (await store.GetRequestedAnalysisAsync(silent, CancellationToken.None))!;
        Assert.Equal((RequestedAnalysis.Failed, "its replica stopped", null, null), (lost.Status, lost.Error, lost.Verdict, lost.Score));
    }

    [Fact]
    public async Task Requested_analyses_still_beating_or_finished_are_left_as_they_are()
    {
        await using var store = await NewStoreAsync();
        var (_, beating, finished) = await SaveBeatingSilentFinishedAsync(store);
        await store.AbandonRunningAnalysesAsync("its replica stopped", T0.AddMinutes(3), CancellationToken.None);
        Assert.Equal(RequestedAnalysis.Running, (await store.GetRequestedAnalysisAsync(beating, CancellationToken.None))!.Status);
        Assert.Equal(RequestedAnalysis.Succeeded, (await store.GetRequestedAnalysisAsync(finished, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Of_concurrent_puts_of_one_config_exactly_one_creates_it()
    {
        await using var store = await NewStoreAsync();
        var created = await Task.WhenAll(ConcurrentPuts().Select(p => store.PutConfigAsync(p, CancellationToken.None)));
        Assert.Single(created, c => c);
    }

    [Fact]
    public async Task Of_concurrent_puts_of_one_config_one_whole_put_is_kept()
    {
        await using var store = await NewStoreAsync();
        var puts = ConcurrentPuts();
        await Task.WhenAll(puts.Select(p => store.PutConfigAsync(p, CancellationToken.None)));
        // The one kept is one whole put (its body, time and author together), never a mix of two.
        Assert.Contains((await store.GetConfigAsync("checkout", CancellationToken.None))!, puts);
    }

    [Fact]
    public async Task A_put_of_a_config_that_exists_replaces_its_body()
    {
        await using var store = await NewStoreAsync();
        await store.PutConfigAsync(new NamedConfig("checkout", "first", T0, "admin"), CancellationToken.None);
        Assert.False(await store.PutConfigAsync(new NamedConfig("checkout", "final", T0, "admin"), CancellationToken.None));
        Assert.Equal("final", (await store.GetConfigAsync("checkout", CancellationToken.None))!.Body);
    }

    [Fact]
    public async Task A_config_is_deleted_once()
    {
        await using var store = await NewStoreAsync();
        await store.PutConfigAsync(new NamedConfig("checkout", "body", T0, "admin"), CancellationToken.None);
        Assert.True(await store.DeleteConfigAsync("checkout", CancellationToken.None));
        Assert.False(await store.DeleteConfigAsync("checkout", CancellationToken.None));
    }

    [Fact]
    public async Task A_write_from_a_stale_version_is_refused_losing_nothing()
    {
        await using var store = await NewStoreAsync();
        var first = await store.SaveTickAsync(Tick(T0, 5, null), CancellationToken.None);
        var second = await store.SaveTickAsync(Tick(T0.AddMinutes(1), 10, first), CancellationToken.None);
        Assert.Equal(2, second);
        var e = await Assert.ThrowsAsync<StaleRolloutException>(() => store.SaveTickAsync(Tick(T0.AddMinutes(2), 25, first), CancellationToken.None));
        Assert.Equal("rollout shop/checkout is at version 2, not 1: another replica decided first", e.Message);
        Assert.Equal(10, (await store.GetRolloutAsync("shop/checkout", CancellationToken.None))!.ReadState().CanaryWeight);
        Assert.Equal(2, (await store.AllDecisionsAsync("shop/checkout")).Count);
    }

    [Fact]
    public async Task Migrations_run_once_each_however_often_the_store_is_opened()
    {
        await using var store = await NewStoreAsync();
        var applied = await ScalarAsync("SELECT SUM(applied_at) FROM schema_migrations");
        await store.MigrateAsync(CancellationToken.None);
        await store.MigrateAsync(CancellationToken.None);
        Assert.Equal(SqlAnalysisStore.SchemaVersion, await ScalarAsync("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(SqlAnalysisStore.SchemaVersion, await ScalarAsync("SELECT COUNT(DISTINCT version) FROM schema_migrations"));
        Assert.Equal(SqlAnalysisStore.SchemaVersion, await ScalarAsync("SELECT MAX(version) FROM schema_migrations"));
        Assert.Equal(applied, await ScalarAsync("SELECT SUM(applied_at) FROM schema_migrations"));
    }

    [Fact]
    public async Task History_older_than_the_retention_is_pruned()
    {
        await using var store = await NewStoreAsync();
        await SaveOldThenNewTickAsync(store);
        Assert.Equal(1, await store.PruneAsync(T0.AddDays(-90), CancellationToken.None));
        Assert.Equal([T0], (await store.AllDecisionsAsync("shop/checkout")).Select(d => d.At));
    }

    [Fact]
    public async Task Pruning_the_history_keeps_the_rollouts_state()
    {
        await using var store = await NewStoreAsync();
        await SaveOldThenNewTickAsync(store);
        await store.PruneAsync(T0.AddDays(-90), CancellationToken.None);
        Assert.Equal(10, (await store.GetRolloutAsync("shop/checkout", CancellationToken.None))!.ReadState().CanaryWeight);
    }

    [Fact]
    public async Task A_deleted_rollout_is_no_longer_listed()
    {
        await using var store = await NewStoreAsync();
        await SaveOldThenNewTickAsync(store);
        await store.DeleteRolloutAsync("shop/checkout", CancellationToken.None);
        Assert.Empty(await store.ListRolloutsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_command_ids_a_tick_applied_are_kept_with_the_rollout()
    {
        await using var store = await NewStoreAsync();
        await SaveApprovedThenQuietTickAsync(store);
        Assert.Equal([new AppliedCommand("c0ffee", "approve")], (await store.GetRolloutAsync("shop/checkout", CancellationToken.None))!.AppliedCommands);
    }

    [Fact]
    public async Task A_decision_keeps_the_commands_it_applied_with_their_id()
    {
        await using var store = await NewStoreAsync();
        var decision = await SaveApprovedThenQuietTickAsync(store);
        Assert.Equal(decision, (await store.AllDecisionsAsync("shop/checkout"))[0]);
    }

    [Fact]
    public async Task Rollouts_are_listed_by_key()
    {
        await using var store = await NewStoreAsync();
        foreach (var key in new[] { "shop/web", "pay/api", "shop/checkout" })
        {
            await store.SaveTickAsync(Tick(T0, 0, null) with { RolloutKey = key, Decision = Decision(T0, "Initialized", 0, "None", "initialized", null) with { RolloutKey = key } }, CancellationToken.None);
        }

        Assert.Equal(["pay/api", "shop/checkout", "shop/web"], (await store.ListRolloutsAsync(CancellationToken.None)).Select(r => r.Key));
    }

    /// <summary>Saves three requested analyses: one whose replica fell silent, one still beating, one finished. Returns their ids.</summary>
    private static async Task<(Guid Silent, Guid Beating, Guid Finished)> SaveBeatingSilentFinishedAsync(IAnalysisStore store)
    {
        static RequestedAnalysis Running(DateTimeOffset updated) => new(Guid.NewGuid(), "checkout", T0, updated, RequestedAnalysis.Running, "Pass", 99, "{}", null, null, "ci");
        var (silent, beating, finished) = (Running(T0), Running(T0), Running(T0) with { Status = RequestedAnalysis.Succeeded });
        foreach (var analysis in new[] { silent, beating, finished })
        {
            await store.SaveRequestedAnalysisAsync(analysis, CancellationToken.None);
        }

        await store.TouchRequestedAnalysisAsync(beating.Id, T0.AddMinutes(5), CancellationToken.None);
        return (silent.Id, beating.Id, finished.Id);
    }

    /// <summary>Eight puts of config "checkout", each with its own body, time and author.</summary>
    private static List<NamedConfig> ConcurrentPuts() =>
        Enumerable.Range(0, 8).Select(i => new NamedConfig("checkout", $"body {i}", T0.AddSeconds(i), $"admin {i}")).ToList();

    /// <summary>A tick 100 days old at 5 %, then one now at 10 %.</summary>
    private static async Task SaveOldThenNewTickAsync(IAnalysisStore store)
    {
        await store.SaveTickAsync(Tick(T0.AddDays(-100), 5, null), CancellationToken.None);
        await store.SaveTickAsync(Tick(T0, 10, 1), CancellationToken.None);
    }

    /// <summary>A tick that applied command "approve" under id c0ffee, then a later tick with no command. Returns the first tick's decision.</summary>
    private static async Task<DecisionRecord> SaveApprovedThenQuietTickAsync(IAnalysisStore store)
    {
        var applied = new PendingCommands("c0ffee", "approve").Remember([]);
        var decision = Decision(T0, "Progressing", 10, "Hold", "approved", null) with { Commands = "approve", CommandId = "c0ffee", Warnings = "a store of Thanos did not answer" };
        var version = await store.SaveTickAsync(Tick(T0, 10, null) with { Decision = decision, AppliedCommands = applied }, CancellationToken.None);
        // A later tick with no command keeps what the rollout remembers.
        await store.SaveTickAsync(Tick(T0.AddMinutes(1), 20, version), CancellationToken.None);
        return decision;
    }

    private static TickRecord Tick(DateTimeOffset at, int weight, long? expected) =>
        new("shop/checkout", RolloutStates.Write(new RolloutState { Phase = RolloutPhase.Progressing, CanaryWeight = weight }), Decision(at, "Progressing", weight, "Advance", $"weight {weight}", null), null, expected);

    private static DecisionRecord Decision(DateTimeOffset at, string phase, int weight, string verdict, string reason, Guid? analysis) =>
        new(Guid.NewGuid(), "shop/checkout", at, phase, weight, verdict, reason, """[{"type":"SetRouting"}]""", analysis);
}

public sealed class SqliteAnalysisStoreTests : AnalysisStoreContract
{
    private string path = string.Empty;

    internal override async Task<IAnalysisStore> NewStoreAsync()
    {
        path = Path.Combine(Directory.CreateTempSubdirectory("canary-store-").FullName, "canary.db");
        var store = new SqliteAnalysisStore(path);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    protected override async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_store_written_by_a_newer_canary_is_not_used()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("canary-store-").FullName, "canary.db");
        await using (var store = new SqliteAnalysisStore(path))
        {
            await store.MigrateAsync(CancellationToken.None);
        }

        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)";
            await command.ExecuteNonQueryAsync();
        }

        await using var again = new SqliteAnalysisStore(path);
        var e = await Assert.ThrowsAsync<StoreException>(() => again.MigrateAsync(CancellationToken.None));
        Assert.Equal($"its schema is at version 999, newer than this canary knows ({SqlAnalysisStore.SchemaVersion}); upgrade canary", e.Reason);
    }
}

[Collection(SharedPostgres.Name)]
public sealed class PostgresAnalysisStoreTests(PostgresServer postgres) : AnalysisStoreContract
{
    private string database = string.Empty;

    internal override async Task<IAnalysisStore> NewStoreAsync()
    {
        database = await postgres.CreateDatabaseAsync();
        var store = new PostgresAnalysisStore(database);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    protected override Task<long> ScalarAsync(string sql) => ScalarAsync(database, sql);

    [Fact]
    public async Task Replicas_starting_together_migrate_one_after_the_other()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var stores = Enumerable.Range(0, 4).Select(_ => new PostgresAnalysisStore(connection)).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => s.MigrateAsync(CancellationToken.None)));
            // Each migration ran once (a second run of any would have failed on its ALTER TABLE), and the whole schema is there for every replica.
            Assert.Equal(SqlAnalysisStore.SchemaVersion, await ScalarAsync(connection, "SELECT COUNT(*) FROM schema_migrations"));
            for (var i = 0; i < stores.Count; i++)
            {
                var key = $"shop/replica-{i}";
                await stores[i].SaveTickAsync(new TickRecord(key, RolloutStates.Write(new RolloutState()), new DecisionRecord(Guid.NewGuid(), key, DateTimeOffset.UnixEpoch, "Initialized", 0, "None", "initialized", "[]", null) { CommandId = "c0ffee" }, null, null)
                {
                    AppliedCommands = [new AppliedCommand("c0ffee", "pause")],
                }, CancellationToken.None);
            }

            Assert.Equal(stores.Count, (await stores[0].ListRolloutsAsync(CancellationToken.None)).Count(r => r.AppliedCommands.Count == 1));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Of_ticks_decided_at_once_from_one_version_exactly_one_is_stored()
    {
        var connection = await postgres.CreateDatabaseAsync();
        var stores = Enumerable.Range(0, 8).Select(_ => new PostgresAnalysisStore(connection)).ToList();
        try
        {
            await stores[0].MigrateAsync(CancellationToken.None);
            var at = DateTimeOffset.UnixEpoch;
            TickRecord Tick(int weight, long? expected) => new("shop/checkout", RolloutStates.Write(new RolloutState { CanaryWeight = weight }),
                new DecisionRecord(Guid.NewGuid(), "shop/checkout", at, "Progressing", weight, "Advance", $"weight {weight}", "[]", null), null, expected);
            var version = await stores[0].SaveTickAsync(Tick(0, null), CancellationToken.None);

            // Eight replicas that all read version 1 and decide at once (read committed lets them all read it).
            var saves = stores.Select((store, i) => Task.Run(() => store.SaveTickAsync(Tick(10 + i, version), CancellationToken.None))).ToList();
            var outcomes = await Task.WhenAll(saves.Select(async t =>
            {
                try
                {
                    await t;
                    return true;
                }
                catch (StaleRolloutException)
                {
                    return false;
                }
            }));

            Assert.Single(outcomes, stored => stored);
            var rollout = (await stores[0].GetRolloutAsync("shop/checkout", CancellationToken.None))!;
            Assert.Equal(2, rollout.Version);
            Assert.Equal(2, (await stores[0].AllDecisionsAsync("shop/checkout")).Count);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString.StartsWith("postgres:", StringComparison.Ordinal) ? connectionString["postgres:".Length..] : connectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Passwords_in_a_store_location_never_reach_a_message()
    {
        var e = Assert.Throws<ArgumentException>(() => StoreLocation.Open("mysql:Host=db;Password=hunter2;Database=x"));
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
        Assert.IsType<PostgresAnalysisStore>(StoreLocation.Open(postgres.ConnectionString("postgres").Insert(0, "postgres:")));
    }
}
