using Canary.Judge.Statistics;
using Canary.Judge.Tests.Support;

namespace Canary.Judge.Tests.Statistics;

public class PairwiseDifferencesTests
{
    public static TheoryData<string, int, int, int> Shapes => new()
    {
        { "continuous", 1, 1, 0 },
        { "continuous", 7, 3, 0 },
        { "continuous", 40, 55, 0 },
        { "integers with heavy ties", 30, 45, 4 },
        { "integers with heavy ties", 60, 50, 2 },
        { "one side constant", 25, 30, -1 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_order_statistic_equals_the_sorted_list_of_all_differences(string shape, int n, int m, int levels)
    {
        var random = new Random(n * 1000 + m);
        var x = Samples.Sorted(Make(random, n, levels));
        var y = Samples.Sorted(levels == -1 ? Enumerable.Repeat(3.5, m).ToArray() : Make(random, m, levels));
        var expected = Samples.AllDifferences(x, y);
        var scratch = new double[n + m];

        for (var k = 1; k <= expected.Length; k++)
        {
            var differences = new PairwiseDifferences(x, y, scratch);
            Assert.True(expected[k - 1] == differences.Select(k), $"{shape}: rank {k} of {expected.Length}");
        }
    }

    [Fact]
    public void Random_shapes_tied_or_not_select_exactly_what_sorting_all_differences_gives()
    {
        var random = new Random(99);
        for (var round = 0; round < 1500; round++)
        {
            int n = random.Next(1, 120), m = random.Next(1, 120);
            var levels = random.Next(4) switch { 0 => 0, 1 => 2, 2 => 5, _ => 50 };
            var x = Samples.Sorted(Make(random, n, levels));
            var y = Samples.Sorted(Make(random, m, levels));
            var expected = Samples.AllDifferences(x, y);
            // Several ranks on one instance, so the probes remembered between selections are exercised too.
            var differences = new PairwiseDifferences(x, y, new double[n + m]);
            for (var i = 0; i < 6; i++)
            {
                var k = random.NextInt64(1, expected.Length + 1);
                Assert.True(expected[k - 1] == differences.Select(k), $"n = {n}, m = {m}, levels = {levels}, rank {k}");
            }
        }
    }

    [Fact]
    public void Selects_exactly_among_a_million_heavy_tailed_differences_with_few_passes()
    {
        var random = new Random(42);
        // Latency-like data with rare huge outliers: the worst case for interpolation.
        var x = Samples.Sorted(Samples.LogNormal(random, 1000, 100, 1.5));
        var y = Samples.Sorted(Samples.LogNormal(random, 1000, 100, 1.5));
        y[^1] = 1e12;
        Array.Sort(y);
        var expected = Samples.AllDifferences(x, y);
        var differences = new PairwiseDifferences(x, y, new double[2000]);

        foreach (var k in new long[] { 1, 2, 480_000, 500_000, 500_001, 520_000, 999_999, 1_000_000 })
        {
            Assert.Equal(expected[k - 1], differences.Select(k));
        }

        // Each pass is O(n + m); a bounded number of them keeps the selection O((n + m)·log(n + m)).
        Assert.InRange(differences.Passes, 1, 80);
    }

    [Fact]
    public void Selection_is_exact_for_values_near_the_limits_of_double()
    {
        double[] x = [-1e300, -1e-300, 0, 5e-324, 1e300];
        double[] y = [-2e300, -1, 1e-310, 2e300];
        var expected = Samples.AllDifferences(x, y);
        for (var k = 1; k <= expected.Length; k++)
        {
            var differences = new PairwiseDifferences(x, y, new double[x.Length + y.Length]);
            Assert.Equal(expected[k - 1], differences.Select(k));
        }
    }

    /// <summary>Continuous values (levels 0) or multiples of 0.1 from so many levels: heavy ties.</summary>
    private static double[] Make(Random random, int count, int levels) =>
        levels > 0 ? Samples.Integers(random, count, levels).Select(v => v * 0.1).ToArray() : Samples.Normal(random, count, 10, 3);
}
