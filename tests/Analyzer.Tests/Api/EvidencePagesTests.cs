using System.Text.RegularExpressions;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Api;

/// <summary>A release rolled back on sequential evidence after five analyses, in a store `canary serve` reads; an earlier release of the same rollout before it.</summary>
public sealed class EvidencePagesFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    public ServeHost Serve { get; private set; } = null!;

    public IReadOnlyList<Guid> Analyses { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("canary-evidence-pages-").FullName, "canary.db");
        var ticks = new EvidenceTicks("shop/checkout");
        ticks.Decide(T0.AddHours(-2), "Progressing", 0, "v1", "new revision v1: starting the release");
        ticks.Analysis(T0.AddHours(-2).AddMinutes(2), "Progressing", 10, "v1", 0.7, 1.0, 0.6, 1.5, 60, "analysis passed");
        ticks.Decide(T0, "Progressing", 0, "v2", "new revision v2 (the primary runs v1): starting the release");
        double[] evidence = [2, 6, 15, 40, 180];
        for (var i = 0; i < evidence.Length; i++)
        {
            ticks.Analysis(T0.AddMinutes(2 + i), i == evidence.Length - 1 ? "Failed" : "Progressing", 10, "v2", evidence[i], 2.1, 0.8 + (0.15 * i), 6 - i, 60 * (i + 1),
                i == evidence.Length - 1 ? "rolled back: the evidence crossed: errors 2.1× the baseline (at least 1.4×), evidence 180 ≥ 100 after 5 min" : "analysis passed");
        }

        await using (var store = new SqliteAnalysisStore(path))
        {
            await store.MigrateAsync(CancellationToken.None);
            await ticks.WriteAsync(store);
        }

        Analyses = [.. ticks.Ticks.Where(t => t.Decision.Revision == "v2" && t.Analysis is not null).Select(t => t.Analysis!.Id)];
        Serve = await ServeHost.StartAsync(new Uri("http://127.0.0.1:1/"), $"sqlite:{path}");
    }

    public async Task DisposeAsync() => await Serve.DisposeAsync();
}

/// <summary>The evidence in view on the dashboard: per sequential metric, the e-value over time with its 1/α line and the ratio's bounds.</summary>
public sealed class EvidencePagesTests(EvidencePagesFixture release) : IClassFixture<EvidencePagesFixture>
{
    [Fact]
    public async Task The_rollout_page_draws_each_sequential_metric_of_the_release_with_its_one_over_alpha_line()
    {
        var chart = await ChartAsync("/rollouts/shop/checkout");
        Assert.Contains("line at 1/α = 100", chart, StringComparison.Ordinal);
        Assert.Contains("class=\"threshold\"", chart, StringComparison.Ordinal);
        // The five analyses of v2, not the one of v1 before it.
        Assert.Equal(5, Points(chart, "evalue"));
    }

    [Fact]
    public async Task The_rollout_page_draws_the_ratio_with_its_bounds_after_each_analysis()
    {
        var chart = await ChartAsync("/rollouts/shop/checkout");
        Assert.Equal(5, Points(chart, "ratio"));
        // A band: the upper bounds one way, the lower the other.
        Assert.Equal(10, Regex.Match(chart, "class=\"bounds\"[^>]*points=\"([^\"]+)\"").Groups[1].Value.Split(' ').Length);
    }

    [Fact]
    public async Task An_analysis_page_draws_the_release_up_to_that_analysis()
    {
        var chart = await ChartAsync($"/analyses/{release.Analyses[2]}");
        Assert.Equal(3, Points(chart, "evalue"));
    }

    private async Task<string> ChartAsync(string path)
    {
        using var viewer = release.Serve.Client(ServeHost.ViewerToken);
        var page = await viewer.GetStringAsync(new Uri(path, UriKind.Relative));
        var chart = Regex.Match(page, "<svg id=\"evidence-errors\".*?</svg>", RegexOptions.Singleline);
        Assert.True(chart.Success, $"no evidence chart for errors on {path}");
        return chart.Value;
    }

    private static int Points(string chart, string line) => Regex.Match(chart, $"class=\"{line}\"[^>]*points=\"([^\"]+)\"").Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
}
