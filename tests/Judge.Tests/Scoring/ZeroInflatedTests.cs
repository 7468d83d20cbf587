using Canary.Judge.Config;
using Canary.Judge.Results;
using static Canary.Judge.Tests.Support.Analyses;

namespace Canary.Judge.Tests.Scoring;

/// <summary>
/// Error rates that are mostly 0, as Kayenta's "High Metric (Large Input)" case has them (30 % of
/// the canary's points non-zero against 8 % of the baseline's): the Hodges–Lehmann interval is
/// [0, 0] while the rank test rejects, so the rank effect's direction decides.
/// </summary>
public sealed class ZeroInflatedTests
{
    private static readonly MetricConfig Errors = new() { Name = "error rate", Direction = Direction.Increase };

    [Fact]
    public void More_non_zero_error_points_are_High_although_the_interval_is_zero()
    {
        var result = JudgeOne(Errors, ZeroInflated(230, 0.08, seed: 1), ZeroInflated(230, 0.30, seed: 2));
        Assert.Equal((0.0, 0.0), (result.Test!.Lower, result.Test.Upper));
        Assert.True(result.Test.PValue < 0.02, $"p {result.Test.PValue}");
        Assert.Equal(MetricClassification.High, result.Classification);
    }

    [Fact]
    public void The_reason_says_the_ranks_decided()
    {
        var result = JudgeOne(Errors, ZeroInflated(230, 0.08, seed: 1), ZeroInflated(230, 0.30, seed: 2));
        Assert.Matches(@"^error rate is \d+\.\d % higher by rank \(p = [0-9.eE+-]+, P\(canary > baseline\) = 0\.\d+; the 98 % CI \+0\.0 % … \+0\.0 % does not show the shift, as when most values are tied\), a significant increase\.$", result.Reason);
    }

    [Fact]
    public void Fewer_non_zero_points_are_Low_when_either_way_counts()
    {
        var either = Errors with { Direction = Direction.Either };
        Assert.Equal(MetricClassification.Low, JudgeOne(either, ZeroInflated(230, 0.30, seed: 3), ZeroInflated(230, 0.08, seed: 4)).Classification);
    }

    [Fact]
    public void The_effect_size_gate_still_applies()
    {
        // The canary's mean is about 3.8 times the baseline's: an allowed increase of 5× lets it pass.
        var tolerant = Errors with { EffectSize = EffectSizeSettings.MeanRatioDefaults with { AllowedIncrease = 5 } };
        Assert.Equal(MetricClassification.Pass, JudgeOne(tolerant, ZeroInflated(230, 0.08, seed: 1), ZeroInflated(230, 0.30, seed: 2)).Classification);
    }

    [Fact]
    public void The_same_share_of_non_zero_points_passes()
    {
        Assert.Equal(MetricClassification.Pass, JudgeOne(Errors, ZeroInflated(230, 0.10, seed: 5), ZeroInflated(230, 0.10, seed: 6)).Classification);
    }

    /// <summary>n points, each non-zero (an error rate between 1.2 and 5.6 %) with the given chance, else 0; seeded.</summary>
    private static double[] ZeroInflated(int n, double nonZero, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() < nonZero ? 1.2 + (4.4 * random.NextDouble()) : 0.0)];
    }
}
