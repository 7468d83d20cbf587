using System.Runtime.CompilerServices;

namespace Canary.Judge.Statistics;

/// <summary>The Mann–Whitney statistic and the tie structure of two sorted samples.</summary>
internal readonly record struct RankSummary(long TwiceU, double PooledTieSum, double WithinTieSum)
{
    /// <summary>U = #{x &gt; y} + ½·#{x = y}: R's W = sum of the ranks of x − n(n+1)/2 (stats::wilcox.test).</summary>
    public double U => TwiceU / 2.0;

    /// <summary>
    /// From the ranks of 0 among the differences x[i] − y[j]: for finite doubles the sign of the
    /// rounded difference is the sign of the exact one, so #{x &gt; y} = nm − #{d ≤ 0} and
    /// #{x = y} = #{d ≤ 0} − #{d &lt; 0}. Both samples sorted ascending, finite.
    /// </summary>
    public static RankSummary Of(ReadOnlySpan<double> x, ReadOnlySpan<double> y, long atMostZero, long belowZero)
    {
        var pairs = (long)x.Length * y.Length;
        var within = TieSum(x) + TieSum(y);
        // Ties across the samples add to the pooled groups; without any, pooled = within.
        var pooled = atMostZero == belowZero ? within : PooledTies(x, y);
        return new RankSummary((2 * (pairs - atMostZero)) + (atMostZero - belowZero), pooled, within);
    }

    /// <summary>Σ(t³ − t) over the groups of equal values of one sorted sample, in one branch-free scan.</summary>
    public static double TieSum(ReadOnlySpan<double> sorted)
    {
        double sum = 0;
        long run = 0;
        for (var i = 1; i < sorted.Length; i++)
        {
            // run = how many earlier values equal this one; adding it grows its group's t³ − t by 3·run·(run + 1).
            var equal = Unsafe.BitCast<bool, byte>(sorted[i] == sorted[i - 1]);
            run = (run + 1) * equal;
            sum += 3.0 * run * (run + 1);
        }

        return sum;
    }

    /// <summary>Σ(t³ − t) over the groups of equal values of the pooled sample, by one merge.</summary>
    public static double PooledTies(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int i = 0, j = 0;
        double pooled = 0;
        while (i < x.Length || j < y.Length)
        {
            var value = j >= y.Length || (i < x.Length && x[i] <= y[j]) ? x[i] : y[j];
            long group = 0;
            for (; i < x.Length && x[i] == value; i++)
            {
                group++;
            }

            for (; j < y.Length && y[j] == value; j++)
            {
                group++;
            }

            // t³ − t: one tie group's share of the variance correction (Hollander & Wolfe, eq. 4.16).
            pooled += ((double)group * group * group) - group;
        }

        return pooled;
    }
}
