namespace Canary.Judge.Statistics;

/// <summary>Result of the two-sided Mann–Whitney test of experiment − control.</summary>
internal readonly record struct MannWhitneyResult(double PValue, double Estimate, double Lower, double Upper, double U);

/// <summary>
/// Two-sided Mann–Whitney (Wilcoxon rank-sum) test with the Hodges–Lehmann estimate and interval,
/// matching R's wilcox.test(x, y, exact = FALSE, correct = TRUE, conf.int = TRUE) except that the
/// interval ends and the estimate are selected exactly among the pairwise differences instead of
/// being approximated by uniroot with an absolute tolerance of 1e-4.
/// </summary>
internal static class MannWhitney
{
    /// <summary>
    /// x is the experiment and y the control, both sorted ascending, finite and non-empty, and
    /// not all equal to one value. scratch must hold at least x.Length + y.Length doubles.
    /// </summary>
    public static MannWhitneyResult Test(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double confidenceLevel, Span<double> scratch)
    {
        double n = x.Length, m = y.Length;
        var differences = new PairwiseDifferences(x, y, scratch);
        try
        {
            // The rank of 0 among the differences gives U, and stays cached as a probe for the interval.
            var (atMostZero, belowZero) = differences.Rank(0.0);
            var ranks = RankSummary.Of(x, y, atMostZero, belowZero);

            // Normal approximation with tie-corrected variance and continuity correction: R, stats::wilcox.test.
            var centred = ranks.U - (n * m / 2.0);
            var sigma = Sigma(n, m, ranks.PooledTieSum);
            var z = sigma > 0 ? (centred - (Math.Sign(centred) * 0.5)) / sigma : 0.0;
            var pValue = NormalDistribution.TwoSidedPValue(z);

            var pairs = differences.Count;
            // Hodges & Lehmann (1963): the estimate is the median of the n·m differences x[i] − y[j].
            var estimate = pairs % 2 == 1
                ? differences.Select((pairs + 1) / 2)
                : Quantiles.Midpoint(differences.Select(pairs / 2), differences.Select((pairs / 2) + 1));

            // Away from the differences themselves the statistic only sees ties inside each sample,
            // so the variance R evaluates along its root search is this one.
            var sigmaCi = Sigma(n, m, ranks.WithinTieSum);
            var zq = NormalDistribution.Quantile(1.0 - ((1.0 - confidenceLevel) / 2.0));
            // R's W(d) exceeds zq while #{differences > d} > c; it crosses at the k-th smallest difference
            // (Bauer 1972; Hollander & Wolfe §4.3, with R's continuity correction of ½).
            var c = (n * m / 2.0) + 0.5 + (zq * sigmaCi);
            var lowerRank = Math.Clamp((long)Math.Ceiling(pairs - c), 1, pairs);
            var upperRank = Math.Clamp((long)Math.Floor(c) + 1, 1, pairs);
            var lower = differences.Select(lowerRank);
            var upper = differences.Select(upperRank);

            return new MannWhitneyResult(pValue, estimate, lower, upper, ranks.U);
        }
        finally
        {
            differences.Dispose();
        }
    }

    // σ of U under H0 with ties: sqrt(nm/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1)))), R's wilcox.test.
    private static double Sigma(double n, double m, double tieSum)
    {
        var pooled = n + m;
        var variance = n * m / 12.0 * (pooled + 1 - (tieSum / (pooled * (pooled - 1))));
        return Math.Sqrt(Math.Max(variance, 0.0));
    }
}
