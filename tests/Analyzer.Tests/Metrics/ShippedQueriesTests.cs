using Canary.Analyzer.Metrics;

namespace Canary.Analyzer.Tests.Metrics;

/// <summary>The templates under queries/ load cleanly and keep the conventions of DESIGN.md ("Queries").</summary>
public class ShippedQueriesTests
{
    public static TheoryData<string> Files => new(Directory.GetFiles(Folder, "*.promql").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "queries");

    [Fact]
    public void Every_source_has_the_signals_users_expect()
    {
        var names = Directory.GetFiles(Folder, "*.promql").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        foreach (var source in new[] { "http", "istio", "nginx" })
        {
            foreach (var signal in new[] { "success-rate", "error-rate", "latency-p50", "latency-p95", "latency-p99", "latency-mean", "request-rate" })
            {
                Assert.Contains($"{source}-{signal}", names);
            }
        }

        Assert.Contains("cpu-usage", names);
        Assert.Contains("memory-working-set", names);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Loads_with_only_the_built_in_placeholders(string file)
    {
        var template = QueryTemplate.Parse(file, File.ReadAllText(Path.Combine(Folder, file)), new HashSet<string>());
        Assert.Contains("cohort", template.Placeholders);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Renders_with_every_placeholder_filled(string file)
    {
        var template = QueryTemplate.Parse(file, File.ReadAllText(Path.Combine(Folder, file)), new HashSet<string>());
        var query = template.Render(PromQl.Matcher("pod", "checkout-canary-.*", regex: true), "1m", new Dictionary<string, string> { ["namespace"] = "shop" });
        Assert.DoesNotContain("{{", query, StringComparison.Ordinal);
        Assert.Contains("pod=~\"checkout-canary-.*\"", query, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Error_ratios_are_zero_for_a_cohort_without_errors(string file)
    {
        var template = QueryTemplate.Parse(file, File.ReadAllText(Path.Combine(Folder, file)), new HashSet<string>());
        if (template.Kind == "ratio")
        {
            // A healthy v1 has no 5xx series at all: the numerator must fall back to 0, not to "no data".
            Assert.Contains("or vector(0))", template.Body, StringComparison.Ordinal);
        }
    }
}
