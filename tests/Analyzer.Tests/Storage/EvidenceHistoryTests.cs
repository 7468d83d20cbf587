using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Storage;

/// <summary>A rollout's evidence over time as the charts read it: bounded, from the release asked for, the newest point kept.</summary>
public sealed class EvidenceHistoryTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);
    private static async Task<SqliteAnalysisStore> StoreAsync()
    {
        var store = new SqliteAnalysisStore(Path.Combine(Directory.CreateTempSubdirectory("canary-evidence-").FullName, "canary.db"));
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task A_long_release_is_drawn_in_at_most_the_points_asked_for_and_ends_at_its_newest_evidence()
    {
        await using var store = await StoreAsync();
        var ticks = new EvidenceTicks("shop/checkout");
        for (var i = 0; i < 1200; i++)
        {
            ticks.Analysis(Start.AddMinutes(i), "Progressing", 50, "v2", eValue: 1 + (i / 10.0), ratio: 1.5, lower: 0.9, upper: 2.5, seconds: 60 * (i + 1), reason: "analysis passed");
        }

        await ticks.WriteAsync(store);
        var points = await store.EvidenceHistoryAsync("shop/checkout", Start, DateTimeOffset.MaxValue, 500, CancellationToken.None);
        Assert.InRange(points.Count, 2, 500);
        Assert.Equal((Start.AddMinutes(1199), 120.9), (points[^1].At, points[^1].Metrics["errors"].EValue));
    }

    [Fact]
    public async Task Evidence_that_reached_its_line_is_never_thinned_away()
    {
        // A non-critical metric crosses once in a long release and falls back: its crossing stays on the chart.
        await using var store = await StoreAsync();
        var ticks = new EvidenceTicks("shop/checkout");
        for (var i = 0; i < 1200; i++)
        {
            ticks.Analysis(Start.AddMinutes(i), "Progressing", 50, "v2", eValue: i == 601 ? 150 : 2, ratio: 1.5, lower: 0.9, upper: 2.5, seconds: 60 * (i + 1), reason: "analysis passed");
        }

        await ticks.WriteAsync(store);
        var points = await store.EvidenceHistoryAsync("shop/checkout", Start, DateTimeOffset.MaxValue, 500, CancellationToken.None);
        Assert.Contains(points, p => p.Metrics["errors"].EValue == 150);
    }

    [Fact]
    public void Where_the_counted_time_goes_back_a_new_release_began()
    {
        // A state saved before releases kept their start: the points after the last restart of the counted time are the release's.
        EvidencePoint Point(int minute, double seconds) => new(Start.AddMinutes(minute), new Dictionary<string, MetricEvidence> { ["errors"] = new(1, 0.01, 1, 0.5, 2, seconds) });
        var points = Canary.Analyzer.Reports.EvidenceChart.LastRelease([Point(0, 60), Point(1, 120), Point(5, 60), Point(6, 120), Point(7, 120)]);
        Assert.Equal([Start.AddMinutes(5), Start.AddMinutes(6), Start.AddMinutes(7)], points.Select(p => p.At));
    }

    [Fact]
    public async Task Only_the_analyses_since_the_release_started_are_drawn()
    {
        await using var store = await StoreAsync();
        var ticks = new EvidenceTicks("shop/checkout");
        ticks.Analysis(Start, "Progressing", 10, "v2", 3, 1.1, 0.5, 3, 60, "analysis passed");
        ticks.Analysis(Start.AddMinutes(30), "Progressing", 10, "v3", 0.5, 0.9, 0.4, 2, 60, "analysis passed");
        ticks.Analysis(Start.AddMinutes(31), "Progressing", 25, "v3", 0.4, 0.95, 0.6, 1.6, 120, "analysis passed");
        await ticks.WriteAsync(store);
        var points = await store.EvidenceHistoryAsync("shop/checkout", Start.AddMinutes(30), DateTimeOffset.MaxValue, 500, CancellationToken.None);
        Assert.Equal([0.5, 0.4], points.Select(p => p.Metrics["errors"].EValue));
    }
}
