using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Canary.Analyzer.Reports;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Reports;

/// <summary>
/// The weekly report on releases decided by different kinds of metric, in 2026-W49: shop/a rolled back on
/// a sequential crossing after 6 min, shop/b on a sampled p99 after 10 min, shop/c promoted on sequential
/// metrics, shop/d rolled back for want of evidence.
/// </summary>
public sealed class EvidenceReportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ReportWeek Week49 = ReportWeek.Parse("2026-W49", TimeZoneInfo.Utc);

    [Fact]
    public async Task The_report_counts_the_releases_each_kind_of_metric_decided_with_its_median_time_to_rollback()
    {
        var by = (await ReportAsync())["overall"]!["decidedBy"]!;
        Assert.Equal((2, 1, 1, 360.0), Counts(by["sequential"]!));
        Assert.Equal((1, 0, 1, 600.0), Counts(by["mannWhitney"]!));
        Assert.Equal(0, by["both"]!["releases"]!.GetValue<int>());
        Assert.Equal(1, by["other"]!["releases"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_release_rolled_back_on_evidence_has_its_evidence_charted_in_the_report()
    {
        var html = ReportHtml.Render(await ReportAsync(), []);
        Assert.Contains("Decided by sequential evidence: 2 releases (1 promoted, 1 rolled back, median time to rollback 6 min)", html, StringComparison.Ordinal);
        var chart = Regex.Match(html, "<svg id=\"evidence-0-errors\".*?</svg>", RegexOptions.Singleline).Value;
        Assert.Equal(5, Regex.Match(chart, "class=\"evalue\"[^>]*points=\"([^\"]+)\"").Groups[1].Value.Split(' ').Length);
        Assert.Contains("line at 1/α = 100", chart, StringComparison.Ordinal);
    }

    private static (int Releases, int Promoted, int RolledBack, double? Median) Counts(JsonNode kind) =>
        (kind["releases"]!.GetValue<int>(), kind["promoted"]!.GetValue<int>(), kind["rolledBack"]!.GetValue<int>(), kind["medianTimeToRollbackSeconds"]?.GetValue<double>());

    private static async Task<JsonObject> ReportAsync()
    {
        await using var store = new SqliteAnalysisStore(Path.Combine(Directory.CreateTempSubdirectory("canary-report-").FullName, "canary.db"));
        await store.MigrateAsync(CancellationToken.None);
        var crossed = new EvidenceTicks("shop/a");
        crossed.Decide(T0, "Progressing", 0, "v2", "new revision v2: starting the release");
        double[] evidence = [2, 6, 15, 40, 180];
        for (var i = 0; i < evidence.Length; i++)
        {
            crossed.Analysis(T0.AddMinutes(2 + i), i == 4 ? "Failed" : "Progressing", 10, "v2", evidence[i], 2.1, 0.8 + (0.15 * i), 6 - i, 60 * (i + 1),
                i == 4 ? "rolled back: the evidence crossed: errors 2.1× the baseline (at least 1.4×), evidence 180 ≥ 100 after 5 min" : "analysis passed");
        }

        var sampled = new EvidenceTicks("shop/b");
        sampled.Decide(T0, "Progressing", 0, "v2", "new revision v2: starting the release");
        for (var i = 0; i < 5; i++)
        {
            sampled.Analysis(T0.AddMinutes(6 + i), i == 4 ? "Failed" : "Progressing", 10, "v2", 0.5, 1, 0.5, 2, 60 * (i + 1),
                i == 4 ? "rolled back: analysis failed (score 60): p99 High; 5 of 5 failed checks" : "analysis failed (score 60)", p99: "High");
        }

        var promoted = new EvidenceTicks("shop/c");
        promoted.Decide(T0, "Progressing", 0, "v2", "new revision v2: starting the release");
        promoted.Analysis(T0.AddMinutes(2), "Progressing", 10, "v2", 0.6, 1, 0.5, 1.8, 60, "analysis passed");
        promoted.Decide(T0.AddMinutes(4), "Succeeded", 0, "v2", "release of revision v2 succeeded");
        var idle = new EvidenceTicks("shop/d");
        idle.Decide(T0, "Progressing", 0, "v2", "new revision v2: starting the release");
        idle.Decide(T0.AddMinutes(12), "Failed", 0, "v2", "rolled back: no evidence for 10m in a row (analysis.maxNoEvidence 10m): no requests in a cohort");
        foreach (var ticks in new[] { crossed, sampled, promoted, idle })
        {
            await ticks.WriteAsync(store);
        }

        return await WeeklyReport.BuildAsync(store, Week49, T0.AddDays(6), CancellationToken.None);
    }
}
