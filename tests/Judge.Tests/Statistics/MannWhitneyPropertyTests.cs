using Canary.Judge.Statistics;
using Canary.Judge.Tests.Support;

namespace Canary.Judge.Tests.Statistics;

/// <summary>Properties over seeded random inputs: scale, shift, symmetry and the shape of the interval.</summary>
public class MannWhitneyPropertyTests
{
    public static TheoryData<int> Seeds => new(Enumerable.Range(1, 40));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Scaling_by_1e_minus_9_or_1e9_keeps_the_p_value(int seed)
    {
        var (x, y) = RandomPair(seed);
        var plain = Test(x, y);
        foreach (var scale in new[] { 1e-9, 1e9 })
        {
            var scaled = Test(x.Select(v => v * scale).ToArray(), y.Select(v => v * scale).ToArray());
            Assert.Equal(plain.PValue, scaled.PValue);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Scaling_by_1e_minus_9_or_1e9_scales_the_estimate_with_its_interval(int seed)
    {
        var (x, y) = RandomPair(seed);
        var plain = Test(x, y);
        foreach (var scale in new[] { 1e-9, 1e9 })
        {
            var scaled = Test(x.Select(v => v * scale).ToArray(), y.Select(v => v * scale).ToArray());
            var magnitude = Math.Max(x.Max(Math.Abs), y.Max(Math.Abs));
            Assert.Equal(plain.Lower, scaled.Lower / scale, magnitude * 1e-12);
            Assert.Equal(plain.Upper, scaled.Upper / scale, magnitude * 1e-12);
            Assert.Equal(plain.Estimate, scaled.Estimate / scale, magnitude * 1e-12);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Shifting_the_experiment_shifts_the_estimate_with_its_interval_by_the_same_amount(int seed)
    {
        // Multiples of 1/1024 below 2^20 subtract and add exactly, so equality is exact.
        var (x, y) = DyadicPair(seed);
        const double shift = 37.25;
        var plain = Test(x, y);
        var shifted = Test(x.Select(v => v + shift).ToArray(), y);
        Assert.Equal(plain.Estimate + shift, shifted.Estimate);
        Assert.Equal(plain.Lower + shift, shifted.Lower);
        Assert.Equal(plain.Upper + shift, shifted.Upper);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Shifting_both_cohorts_by_the_same_amount_changes_nothing(int seed)
    {
        // Multiples of 1/1024 below 2^20 subtract and add exactly, so equality is exact.
        var (x, y) = DyadicPair(seed);
        const double shift = 37.25;
        var plain = Test(x, y);
        var both = Test(x.Select(v => v + shift).ToArray(), y.Select(v => v + shift).ToArray());
        Assert.Equal(plain, both);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Swapping_the_cohorts_keeps_the_p_value(int seed)
    {
        var (x, y) = RandomPair(seed);
        var forward = Test(x, y);
        var backward = Test(y, x);
        Assert.Equal(forward.PValue, backward.PValue);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Swapping_the_cohorts_negates_the_estimate_with_its_interval(int seed)
    {
        var (x, y) = RandomPair(seed);
        var forward = Test(x, y);
        var backward = Test(y, x);
        Assert.Equal(-forward.Estimate, backward.Estimate);
        Assert.Equal(-forward.Upper, backward.Lower);
        Assert.Equal(-forward.Lower, backward.Upper);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Interval_contains_the_estimate_at_every_level(int seed)
    {
        var (x, y) = RandomPair(seed);
        foreach (var level in new[] { 0.5, 0.8, 0.9, 0.95, 0.98, 0.999 })
        {
            var result = MannWhitney.Test(Samples.Sorted(x), Samples.Sorted(y), level, new double[x.Length + y.Length]);
            Assert.True(result.Lower <= result.Estimate && result.Estimate <= result.Upper,
                $"[{result.Lower}, {result.Upper}] must contain {result.Estimate} at {level}");
        }
    }

    [Fact]
    public void Metrics_near_1e_minus_3_get_the_same_interval_as_their_scaled_up_copies()
    {
        // Kayenta's solver works to an absolute tolerance and inverts intervals at this scale.
        var random = new Random(7);
        var control = Samples.Normal(random, 300, 1.0e-3, 0.1e-3);
        var experiment = Samples.Normal(random, 300, 1.05e-3, 0.1e-3);
        var small = Test(experiment, control);
        var large = Test(experiment.Select(v => v * 1e6).ToArray(), control.Select(v => v * 1e6).ToArray());
        Assert.True(small.Lower < small.Upper);
        Assert.Equal(large.Lower * 1e-6, small.Lower, 1e-15);
        Assert.Equal(large.Upper * 1e-6, small.Upper, 1e-15);
    }

    private static MannWhitneyResult Test(double[] x, double[] y) =>
        MannWhitney.Test(Samples.Sorted(x), Samples.Sorted(y), 0.98, new double[x.Length + y.Length]);

    /// <summary>Sizes from 1 to 300, continuous or tied, with and without a shift.</summary>
    private static (double[] X, double[] Y) RandomPair(int seed)
    {
        var random = new Random(seed);
        var n = random.Next(1, 300);
        var m = random.Next(2, 300);
        var shift = random.Next(3) * 2.0;
        if (seed % 3 == 0)
        {
            return (Samples.Integers(random, n, 6).Select(v => v + shift).ToArray(), Samples.Integers(random, m, 6));
        }

        return (Samples.Normal(random, n, 100 + shift, 5), Samples.Normal(random, m, 100, 5));
    }

    private static (double[] X, double[] Y) DyadicPair(int seed)
    {
        var (x, y) = RandomPair(seed);
        static double Dyadic(double v) => Math.Round(v * 1024) / 1024;
        return (x.Select(Dyadic).ToArray(), y.Select(Dyadic).ToArray());
    }
}
