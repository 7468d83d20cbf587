using System.Text.Json;
using Canary.Judge.Statistics;
using Canary.Judge.Tests.Support;

namespace Canary.Judge.Tests.Statistics;

/// <summary>
/// Against R 4.2 (Debian r-base-core): Reference/make-wilcox-reference.R runs
/// wilcox.test(experiment, control, exact = FALSE, correct = TRUE, conf.int = TRUE) and stores
/// the data with the results in Reference/wilcox-reference.json.
/// </summary>
public class WilcoxReferenceTests
{
    // uniroot(tol = 1e-4) stops within its tolerance of the true crossing; allow that plus rounding.
    private const double RootFinderTolerance = 1.5e-4;

    public static TheoryData<string> Cases => new(ReferenceCase.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void P_value_matches_R_to_one_part_in_a_million_even_far_in_the_tail(string name)
    {
        var reference = ReferenceCase.Named(name);
        var result = Run(reference);
        Assert.True(
            Math.Abs(result.PValue - reference.PValue) <= 1e-6 * reference.PValue,
            $"p = {result.PValue:R}, R says {reference.PValue:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Interval_ends_match_R_within_its_root_finder_tolerance(string name)
    {
        var reference = ReferenceCase.Named(name);
        var result = Run(reference);
        Assert.InRange(result.Lower, reference.Lower - RootFinderTolerance, reference.Lower + RootFinderTolerance);
        Assert.InRange(result.Upper, reference.Upper - RootFinderTolerance, reference.Upper + RootFinderTolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Estimate_is_exactly_the_median_of_all_pairwise_differences(string name)
    {
        var reference = ReferenceCase.Named(name);
        Assert.Equal(reference.MedianDifference, Run(reference).Estimate);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Statistic_is_R_s_W(string name)
    {
        var reference = ReferenceCase.Named(name);
        Assert.Equal(reference.Statistic, Run(reference).U);
    }

    private static MannWhitneyResult Run(ReferenceCase reference)
    {
        var x = Samples.Sorted(reference.Experiment);
        var y = Samples.Sorted(reference.Control);
        return MannWhitney.Test(x, y, reference.ConfidenceLevel, new double[x.Length + y.Length]);
    }

    private sealed record ReferenceCase(
        string Name, double ConfidenceLevel, double PValue, double Lower, double Upper, double REstimate,
        double MedianDifference, double Statistic, double[] Experiment, double[] Control)
    {
        private static readonly JsonSerializerOptions Options = new() { PropertyNameCaseInsensitive = true };

        public static IReadOnlyList<ReferenceCase> All { get; } = JsonSerializer.Deserialize<ReferenceCase[]>(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "wilcox-reference.json")), Options)!;

        public static ReferenceCase Named(string name) => All.Single(c => c.Name == name);
    }
}
