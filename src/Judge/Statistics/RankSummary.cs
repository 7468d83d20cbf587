namespace Canary.Judge.Statistics;

/// <summary>The Mann–Whitney statistic and the tie structure of two sorted samples, found by one merge.</summary>
internal readonly record struct RankSummary(long TwiceU, double PooledTieSum, double WithinTieSum)
{
    /// <summary>U = #{x &gt; y} + ½·#{x = y}: R's W = sum of the ranks of x − n(n+1)/2 (stats::wilcox.test).</summary>
    public double U => TwiceU / 2.0;

    /// <summary>Both spans must be sorted ascending and hold only finite values.</summary>
    public static RankSummary Of(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int i = 0, j = 0;
        long twiceU = 0;
        double pooled = 0, within = 0;
        while (i < x.Length || j < y.Length)
        {
            var value = j >= y.Length || (i < x.Length && x[i] <= y[j]) ? x[i] : y[j];
            var yBelow = j;
            var startX = i;
            while (i < x.Length && x[i] == value)
            {
                i++;
            }

            var startY = j;
            while (j < y.Length && y[j] == value)
            {
                j++;
            }

            long inX = i - startX, inY = j - startY;
            // Each x equal to value beats every smaller y and ties each equal y (average ranks).
            twiceU += inX * ((2L * yBelow) + inY);
            pooled += TieTerm(inX + inY);
            within += TieTerm(inX) + TieTerm(inY);
        }

        return new RankSummary(twiceU, pooled, within);
    }

    // t³ − t: one tie group's share of the variance correction (Hollander & Wolfe, eq. 4.16).
    private static double TieTerm(long t) => ((double)t * t * t) - t;
}
