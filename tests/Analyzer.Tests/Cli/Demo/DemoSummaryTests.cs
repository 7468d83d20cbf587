using System.Text.Json.Nodes;
using Canary.Analyzer.Cli.Demo;

namespace Canary.Analyzer.Tests.Cli.Demo;

public sealed class DemoSummaryTests
{
    [Fact]
    public void The_summary_encodes_what_it_shows_and_says_whether_everything_went_as_expected()
    {
        var summary = new DemoSummary { StartedAt = DateTimeOffset.UnixEpoch, Frontend = "http://127.0.0.1:1/" };
        var release = new DemoRelease("v2", "<b>healthy</b>", "abc", "promoted") { Outcome = "promoted", Reason = "x < y & \"z\"" };
        release.Steps.Add(new DemoStep(0, 1));
        release.Steps.Add(new DemoStep(20, 2));
        release.Analyses.Add(new DemoAnalysis(3, 20, 100, "Pass", "<script>alert(1)</script>", [new DemoMetric("p50 <latency>", "High", 2.5, "r")]));
        summary.Releases.Add(release);
        summary.Load = new LoadCounts(100, 3, 3, 0, new Dictionary<string, long>());
        Assert.True(summary.AsExpected);

        var html = summary.ToHtml();
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;healthy&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("p50 &lt;latency&gt;: High (×2.5)", html, StringComparison.Ordinal);

        var json = JsonNode.Parse(summary.ToJson())!;
        Assert.Equal("promoted", json["releases"]![0]!["outcome"]!.GetValue<string>());
        Assert.Equal(3, json["load"]!["injectedFailures"]!.GetValue<long>());

        // One failure users saw that nobody injected, or a release that ended otherwise, is not as expected.
        summary.Load = new LoadCounts(100, 4, 3, 1, new Dictionary<string, long> { ["HTTP 503"] = 1 });
        Assert.False(summary.AsExpected);
        Assert.Contains("HTTP 503: 1", summary.ToHtml(), StringComparison.Ordinal);
        summary.Load = new LoadCounts(100, 3, 3, 0, new Dictionary<string, long>());
        release.Outcome = "rolled back";
        Assert.False(summary.AsExpected);
    }
}
