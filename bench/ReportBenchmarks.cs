using BenchmarkDotNet.Attributes;
using Canary.Analyzer.Reports;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Reports;
using Microsoft.Data.Sqlite;

namespace Canary.Bench;

/// <summary>
/// The weekly report over a year of history for 200 services (the generator of the report tests,
/// about 44,000 releases), in SQLite: reading the week and its 8-week trend, the numbers, the four
/// PNG charts and the HTML. The issue asks for under 10 s.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 1, iterationCount: 5)]
public class ReportBenchmarks
{
    private static readonly DateTimeOffset End = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
    private SqliteAnalysisStore store = null!;

    public static string Database { get; } = Path.Combine(Path.GetTempPath(), "canary-bench-year.db");

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        if (!File.Exists(Database))
        {
            await WriteYearAsync(Database);
        }

        store = new SqliteAnalysisStore(Database);
    }

    [GlobalCleanup]
    public async Task CleanUpAsync() => await store.DisposeAsync();

    [Benchmark(Description = "weekly report, 200 services, a year of history")]
    public async Task<int> Report() => (await ReportOutput.BuildAsync(store, ReportWeek.Parse("2026-W47", TimeZoneInfo.Utc), End, CancellationToken.None)).Html.Length;

    /// <summary>The year, written in one transaction (the store's own tick path would take minutes).</summary>
    public static async Task WriteYearAsync(string path)
    {
        await using (var migrate = new SqliteAnalysisStore(path))
        {
            await migrate.MigrateAsync(CancellationToken.None);
        }

        var history = ReleaseHistory.Generate(End.AddDays(-365), End, services: 200, seed: 2026);
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var decision = connection.CreateCommand();
        decision.CommandText = "INSERT INTO decisions (id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id, revision, commands, fault) VALUES ($id, $k, $at, $phase, $w, $v, $r, '[]', $a, $rev, $c, $f)";
        await using var analysis = connection.CreateCommand();
        analysis.CommandText = "INSERT INTO analyses (id, rollout_key, at, verdict, score, inconclusive, result, queries) VALUES ($id, $k, $at, $v, $s, $i, $r, '{}')";
        foreach (var tick in history.Ticks)
        {
            var d = tick.Decision;
            decision.Parameters.Clear();
            decision.Parameters.AddWithValue("$id", d.Id.ToString());
            decision.Parameters.AddWithValue("$k", d.RolloutKey);
            decision.Parameters.AddWithValue("$at", d.At.ToUnixTimeMilliseconds());
            decision.Parameters.AddWithValue("$phase", d.Phase);
            decision.Parameters.AddWithValue("$w", d.CanaryWeight);
            decision.Parameters.AddWithValue("$v", d.Verdict);
            decision.Parameters.AddWithValue("$r", d.Reason);
            decision.Parameters.AddWithValue("$a", (object?)d.AnalysisId?.ToString() ?? DBNull.Value);
            decision.Parameters.AddWithValue("$rev", (object?)d.Revision ?? DBNull.Value);
            decision.Parameters.AddWithValue("$c", (object?)d.Commands ?? DBNull.Value);
            decision.Parameters.AddWithValue("$f", (object?)d.Fault ?? DBNull.Value);
            await decision.ExecuteNonQueryAsync();
            if (tick.Analysis is { } a)
            {
                analysis.Parameters.Clear();
                analysis.Parameters.AddWithValue("$id", a.Id.ToString());
                analysis.Parameters.AddWithValue("$k", a.RolloutKey);
                analysis.Parameters.AddWithValue("$at", a.At.ToUnixTimeMilliseconds());
                analysis.Parameters.AddWithValue("$v", a.Verdict);
                analysis.Parameters.AddWithValue("$s", (object?)a.Score ?? DBNull.Value);
                analysis.Parameters.AddWithValue("$i", a.Inconclusive);
                analysis.Parameters.AddWithValue("$r", a.ResultJson);
                await analysis.ExecuteNonQueryAsync();
            }
        }

        await transaction.CommitAsync();
        Console.WriteLine($"wrote {history.Releases.Count} releases, {history.Ticks.Count} decisions to {path}");
    }
}
