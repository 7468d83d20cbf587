using System.Text.Json.Nodes;
using Canary.Analyzer.Cli.Demo;

namespace Canary.Analyzer.Tests.Cli.Demo;

public sealed class DemoSummaryTests
{
    [Fact]
    public void The_summary_encodes_what_it_shows()
    {
        var (summary, _) = PromotedAsExpected();
        var html = summary.ToHtml();
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;healthy&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("p50 &lt;latency&gt;: High (×2.5)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_summarys_JSON_holds_each_releases_outcome_with_the_load()
    {
        var (summary, _) = PromotedAsExpected();
        var json = JsonNode.Parse(summary.ToJson())!;
        Assert.Equal("promoted", json["releases"]![0]!["outcome"]!.GetValue<string>());
        Assert.Equal(3, json["load"]!["injectedFailures"]!.GetValue<long>());
    }

    [Fact]
    public void A_run_whose_releases_ended_as_expected_with_only_injected_failures_is_as_expected()
    {
        Assert.True(PromotedAsExpected().Summary.AsExpected);
    }

    [Fact]
    public void One_failure_users_saw_that_nobody_injected_is_not_as_expected()
    {
        var (summary, _) = PromotedAsExpected();
        summary.Load = new LoadCounts(100, 4, 3, 1, new Dictionary<string, long> { ["HTTP 503"] = 1 });
        Assert.False(summary.AsExpected);
        Assert.Contains("HTTP 503: 1", summary.ToHtml(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_release_that_ended_otherwise_is_not_as_expected()
    {
        var (summary, release) = PromotedAsExpected();
        release.Outcome = "rolled back";
        Assert.False(summary.AsExpected);
    }

    /// <summary>
    /// A demo whose release v2 (expected: promoted) was promoted, its texts holding markup, under a load whose only failures were
    /// the three injected.
    /// </summary>
    private static (DemoSummary Summary, DemoRelease Release) PromotedAsExpected()
    {
        var summary = new DemoSummary { StartedAt = DateTimeOffset.UnixEpoch, Frontend = "http://127.0.0.1:1/" };
        var release = new DemoRelease("v2", "<b>healthy</b>", "abc", "promoted") { Outcome = "promoted", Reason = "x < y & \"z\"" };
        release.Steps.Add(new DemoStep(0, 1));
        release.Steps.Add(new DemoStep(20, 2));
        release.Analyses.Add(new DemoAnalysis(3, 20, 100, "Pass", "<script>alert(1)</script>", [new DemoMetric("p50 <latency>", "High", 2.5, "r")]));
        summary.Releases.Add(release);
        summary.Load = new LoadCounts(100, 3, 3, 0, new Dictionary<string, long>());
        return (summary, release);
    }
}
