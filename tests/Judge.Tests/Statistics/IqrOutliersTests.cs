using Canary.Judge.Statistics;

namespace Canary.Judge.Tests.Statistics;

public class IqrOutliersTests
{
    private static readonly double[] OneToHundred = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

    [Theory]
    [InlineData(226.5)]
    [InlineData(1000.0)]
    public void Points_beyond_the_fences_are_dropped(double extra)
    {
        // With the extra point, n = 101: Q1 = 26, Q3 = 76 (R type 7), IQR = 50, upper fence 76 + 3·50 = 226.
        var data = OneToHundred.Append(extra).ToArray();
        var inliers = IqrOutliers.Inliers(data, 3.0).ToArray();
        Assert.Equal(100, inliers.Length);
        Assert.Equal(1, inliers[0]);
    }

    [Fact]
    public void A_point_on_a_fence_is_kept()
    {
        // With the extra point, n = 101: Q1 = 26, Q3 = 76 (R type 7), IQR = 50, upper fence 76 + 3·50 = 226.
        var data = OneToHundred.Append(226.0).ToArray();
        var inliers = IqrOutliers.Inliers(data, 3.0).ToArray();
        Assert.Equal(101, inliers.Length);
        Assert.Equal(1, inliers[0]);
    }

    [Fact]
    public void Fences_are_widened_to_reach_from_P1_to_P99()
    {
        // A factor of 0 puts the fences on the quartiles; widening keeps everything from P1 = 1.99 to P99 = 99.01.
        var inliers = IqrOutliers.Inliers(OneToHundred, 0.0).ToArray();
        Assert.Equal(2, inliers[0]);
        Assert.Equal(99, inliers[^1]);
        Assert.Equal(98, inliers.Length);
    }

    [Fact]
    public void Quantiles_follow_R_type_7()
    {
        // quantile(1:100, c(.01, .25, .5, .75, .99)) in R: 1.99 25.75 50.50 75.25 99.01
        Assert.Equal([1.99, 25.75, 50.5, 75.25, 99.01], new[] { 0.01, 0.25, 0.5, 0.75, 0.99 }.Select(p => Math.Round(Quantiles.Type7(OneToHundred, p), 10)));
    }
}
