using System.Globalization;
using System.Text.Json.Nodes;
using Canary.Analyzer.Reports;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Reports;

/// <summary>
/// The weekly report against a generated history (hundreds of releases, 10 weeks, 24 services):
/// every number is computed again here from the generator's ground truth, not from the report's code.
/// </summary>
public abstract class WeeklyReportContract
{
    public static readonly DateTimeOffset HistoryStart = new(2026, 9, 14, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset HistoryEnd = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly ReportWeek Week47 = ReportWeek.Parse("2026-W47", TimeZoneInfo.Utc);

    internal abstract Task<IAnalysisStore> StoreAsync();

    [Fact]
    public async Task The_report_finds_again_what_the_history_holds()
    {
        var history = ReleaseHistory.Generate(HistoryStart, HistoryEnd, services: 24, seed: 47);
        await using var store = await StoreAsync();
        await history.WriteAsync(store);
        var report = await WeeklyReport.BuildAsync(store, Week47, HistoryEnd, CancellationToken.None);
        var (start, end) = (Week47.Start, Week47.End);
        Assert.Equal((new DateTimeOffset(2026, 11, 16, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero)), (start, end));

        var week = history.Releases.Where(r => r.Started >= start && r.Started < end).ToList();
        Assert.InRange(week.Count, 40, 400);
        string Outcome(TruthRelease r) => r.Decided is { } d && d < end ? r.Outcome : "running";
        var overall = report["overall"]!;
        Assert.Equal(week.Count, overall["started"]!.GetValue<int>());
        Assert.Equal(week.Count(r => Outcome(r) == "promoted"), overall["promoted"]!.GetValue<int>());
        Assert.Equal(week.Count(r => Outcome(r) == "rolled back"), overall["rolledBack"]!.GetValue<int>());
        Assert.Equal(week.Count(r => Outcome(r) == "running"), overall["running"]!.GetValue<int>());
        Assert.Equal(week.Count(r => Outcome(r) == "superseded"), overall["superseded"]!.GetValue<int>());
        Assert.True(overall["rolledBack"]!.GetValue<int>() > 5);

        var decided = week.Where(r => Outcome(r) is "promoted" or "rolled back").Select(r => (r.Decided!.Value - r.Started).TotalSeconds).ToList();
        Assert.Equal(Type7(decided, 0.5), overall["timeToDecisionSeconds"]!["median"]!.GetValue<double>(), 3);
        Assert.Equal(Type7(decided, 0.9), overall["timeToDecisionSeconds"]!["p90"]!.GetValue<double>(), 3);
        var rollbacks = week.Where(r => Outcome(r) == "rolled back").Select(r => (r.Decided!.Value - r.Started).TotalSeconds).ToList();
        Assert.Equal(Type7(rollbacks, 0.5), overall["timeToRollbackSeconds"]!["median"]!.GetValue<double>(), 3);

        // Metrics: the error rate fails in rollbacks (with their effect sizes), p99 latency flips in noisy releases, legacy never has p99 data.
        var failures = week.SelectMany(r => r.Failures.Where(f => f.At < end).Select(f => (f.Metric, Release: r))).ToList();
        var failing = overall["failingMetrics"]!.AsArray();
        Assert.Equal("error rate", failing[0]!["metric"]!.GetValue<string>());
        Assert.Equal(failures.Count(f => f.Metric == "error rate"), failing[0]!["failures"]!.GetValue<int>());
        Assert.Equal(Type7([.. failures.Where(f => f.Metric == "error rate").Select(f => f.Release.ErrorRatio!.Value)], 0.5), failing[0]!["medianMeanRatio"]!.GetValue<double>(), 3);
        var noisy = week.Count(r => r.RecoveredAt is { } at && at < end);
        Assert.True(noisy > 0);
        Assert.Equal(noisy, overall["noisyMetrics"]!.AsArray().Single(m => m!["metric"]!.GetValue<string>() == "p99 latency")!["releases"]!.GetValue<int>());
        Assert.DoesNotContain(overall["noisyMetrics"]!.AsArray(), m => m!["metric"]!.GetValue<string>() == "error rate");
        Assert.Equal([("shop/legacy", "p99 latency")], overall["metricsWithoutData"]!.AsArray().Select(m => (m!["service"]!.GetValue<string>(), m["metric"]!.GetValue<string>())));

        // Interventions and faults inside the week.
        var commands = history.Releases.SelectMany(r => r.Commands).Where(c => c.At >= start && c.At < end).ToList();
        Assert.Equal(commands.Count(c => c.Command == "approve"), overall["interventions"]!["byCommand"]!["approve"]!.GetValue<int>());
        Assert.Equal(commands.Count(c => c.Command == "abort"), overall["interventions"]!["byCommand"]!["abort"]!.GetValue<int>());
        Assert.Equal(history.PrometheusFaults.Count(f => f.At >= start && f.At < end), overall["inconclusiveFromFaults"]!["prometheus"]!.GetValue<int>());
        Assert.Equal(history.KubernetesFaults.Count(f => f.At >= start && f.At < end), overall["inconclusiveFromFaults"]!["kubernetes"]!.GetValue<int>());

        // Each rolled-back release: what failed, by how much, at which step.
        var rolledBack = report["rolledBack"]!.AsArray();
        foreach (var truth in week.Where(r => Outcome(r) == "rolled back"))
        {
            var found = rolledBack.Single(r => r!["revision"]!.GetValue<string>() == truth.Revision)!;
            Assert.Equal((truth.Service, truth.FailedAtWeight), (found["service"]!.GetValue<string>(), found["failedAtWeight"]!.GetValue<int?>()));
            var metric = found["failingMetrics"]!.AsArray().Single()!;
            Assert.Equal(("error rate", "High", truth.ErrorRatio!.Value), (metric["metric"]!.GetValue<string>(), metric["classification"]!.GetValue<string>(), metric["meanRatio"]!.GetValue<double>()));
        }

        // Per service, per day and the 8-week trend.
        foreach (var (service, summary) in report["services"]!.AsObject())
        {
            Assert.Equal(week.Count(r => r.Service == service), summary!["started"]!.GetValue<int>());
        }

        Assert.Equal(week.Count, report["perDay"]!.AsArray().Sum(d => d!["promoted"]!.GetValue<int>() + d["rolledBack"]!.GetValue<int>() + d["running"]!.GetValue<int>() + d["superseded"]!.GetValue<int>()));
        var trend = report["trend"]!.AsArray();
        Assert.Equal(Enumerable.Range(40, 8).Select(w => $"2026-W{w}"), trend.Select(t => t!["week"]!.GetValue<string>()));
        for (var i = 0; i < 8; i++)
        {
            var w = Week47.Previous(7 - i);
            var those = history.Releases.Where(r => r.Started >= w.Start && r.Started < w.End && r.Decided is { } d && d < w.End).ToList();
            var (promoted, rolled) = (those.Count(r => r.Outcome == "promoted"), those.Count(r => r.Outcome == "rolled back"));
            Assert.Equal((promoted, rolled), (trend[i]!["promoted"]!.GetValue<int>(), trend[i]!["rolledBack"]!.GetValue<int>()));
            Assert.Equal(Math.Round((double)rolled / (promoted + rolled), 4), trend[i]!["rollbackRate"]!.GetValue<double>());
        }
    }

    /// <summary>R's default quantile (type 7), written out here: h = (n − 1)p, interpolate between the order statistics around h.</summary>
    private static double Type7(List<double> values, double p)
    {
        values.Sort();
        var h = (values.Count - 1) * p;
        var below = values[(int)Math.Floor(h)];
        var above = values[(int)Math.Ceiling(h)];
        return Math.Round(below + ((h - Math.Floor(h)) * (above - below)), 3);
    }
}

public sealed class SqliteWeeklyReportTests : WeeklyReportContract
{
    internal override async Task<IAnalysisStore> StoreAsync()
    {
        var store = new SqliteAnalysisStore(Path.Combine(Directory.CreateTempSubdirectory("canary-report-").FullName, "canary.db"));
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task Canary_report_writes_the_report_with_its_charts_embedded()
    {
        var folder = Directory.CreateTempSubdirectory("canary-report-").FullName;
        var path = await SeedAsync(folder);
        var output = Path.Combine(folder, "out");
        var run = await CanaryRunner.RunAsync("report", "--week", "2026-W47", "--store", $"sqlite:{path}", "--output", output);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(["report.html", "report.json", "releases-per-day.png", "rollback-rate-trend.png", "time-to-decision.png", "top-failing-metrics.png"],
            Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal).OrderBy(f => !f!.StartsWith("report", StringComparison.Ordinal)));
        Assert.All(Directory.GetFiles(output, "*.png"), png => Assert.Equal([0x89, 0x50, 0x4E, 0x47], File.ReadAllBytes(png)[..4]));
        var html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Equal(4, html.Split("src=\"data:image/png;base64,").Length - 1);
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quiet_week_gets_a_short_correct_report()
    {
        // A week without releases: a short, correct report.
        var folder = Directory.CreateTempSubdirectory("canary-report-").FullName;
        var path = await SeedAsync(folder);
        var quiet = await CanaryRunner.RunAsync("report", "--week", "2025-W02", "--store", $"sqlite:{path}", "--output", Path.Combine(folder, "quiet"));
        Assert.Equal(0, quiet.ExitCode);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "quiet", "report.json")))!;
        Assert.Equal(0, json["overall"]!["started"]!.GetValue<int>());
        Assert.Null(json["overall"]!["rollbackRate"]);
        Assert.Contains("No release started this week.", File.ReadAllText(Path.Combine(folder, "quiet", "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_that_cannot_be_read_is_a_clear_error_writing_nothing()
    {
        // A store that cannot be read: a clear error, exit 3, and no file at all.
        var folder = Directory.CreateTempSubdirectory("canary-report-").FullName;
        var broken = Path.Combine(folder, "broken.db");
        File.WriteAllText(broken, "this is not a database");
        var failed = await CanaryRunner.RunAsync("report", "--week", "2026-W47", "--store", $"sqlite:{broken}", "--output", Path.Combine(folder, "none"));
        Assert.Equal(3, failed.ExitCode);
        Assert.Equal([$"canary report: the store sqlite:{broken}: is not an SQLite database (it may be another kind of file, or corrupt); canary refuses to replace it; nothing was written"], failed.ErrorLines);
        Assert.False(Directory.Exists(Path.Combine(folder, "none")));
    }

    [Fact]
    public async Task Canary_report_never_creates_a_store_that_is_missing()
    {
        var folder = Directory.CreateTempSubdirectory("canary-report-").FullName;
        var missing = await CanaryRunner.RunAsync("report", "--store", $"sqlite:{Path.Combine(folder, "nothing.db")}", "--output", Path.Combine(folder, "none"));
        Assert.Equal(3, missing.ExitCode);
        Assert.False(File.Exists(Path.Combine(folder, "nothing.db")));
    }

    [Fact]
    public async Task A_week_that_does_not_exist_is_bad_input()
    {
        Assert.Equal(2, (await CanaryRunner.RunAsync("report", "--week", "2026-W54")).ExitCode);
    }

    [Fact]
    public void Weeks_are_ISO_weeks_in_the_time_zone()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var week = ReportWeek.Parse("2026-W47", berlin);
        Assert.Equal(new DateTimeOffset(2026, 11, 16, 0, 0, 0, TimeSpan.FromHours(1)), week.Start);
        Assert.Equal("2026-W46", week.Previous().Label);
        Assert.Equal("2025-W52", ReportWeek.Parse("2026-W01", TimeZoneInfo.Utc).Previous().Label);
        Assert.Throws<FormatException>(() => ReportWeek.Parse("2026-47", TimeZoneInfo.Utc));
    }

    [Fact]
    public void The_default_week_is_the_last_complete_one_in_the_time_zone()
    {
        // Monday 2026-11-23 00:30 in Berlin is still Sunday in UTC: the last complete week differs.
        var now = new DateTimeOffset(2026, 11, 22, 23, 30, 0, TimeSpan.Zero);
        Assert.Equal("2026-W47", ReportWeek.LastComplete(now, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin")).Label);
        Assert.Equal("2026-W46", ReportWeek.LastComplete(now, TimeZoneInfo.Utc).Label);
    }

    [Fact]
    public void The_days_of_a_week_end_at_local_midnight_even_when_summer_time_ends()
    {
        // The week summer time ends in Berlin: its Sunday has 25 hours, and the days still end at local midnight.
        var autumn = ReportWeek.Parse("2026-W43", TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        Assert.Equal(TimeSpan.FromHours(25), autumn.Day(7) - autumn.Day(6));
        Assert.Equal(autumn.End, autumn.Day(7));
        Assert.Equal(new DateTimeOffset(2026, 10, 26, 0, 0, 0, TimeSpan.FromHours(1)), autumn.End);
    }

    /// <summary>An SQLite store in the folder holding the generated history of six services; returns its path.</summary>
    private static async Task<string> SeedAsync(string folder)
    {
        var path = Path.Combine(folder, "canary.db");
        await using var store = new SqliteAnalysisStore(path);
        await store.MigrateAsync(CancellationToken.None);
        await ReleaseHistory.Generate(HistoryStart, HistoryEnd, services: 6, seed: 3).WriteAsync(store);
        return path;
    }
}

[Collection(SharedPostgres.Name)]
public sealed class PostgresWeeklyReportTests(PostgresServer postgres) : WeeklyReportContract
{
    internal override async Task<IAnalysisStore> StoreAsync()
    {
        var store = new PostgresAnalysisStore(postgres.ConnectionString(await postgres.CreateDatabaseAsync()));
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}
