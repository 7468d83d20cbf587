namespace Canary.Analyzer.Simulation;

/// <summary>The two PromQL functions the simulation evaluates, as Prometheus computes them (promql/functions.go, promql/quantile.go).</summary>
internal static class PromQlFunctions
{
    /// <summary>
    /// rate() (per second) or increase() of a counter over (start, end] from its first and last
    /// sample inside: the change, extrapolated to the range's edges when the samples come within
    /// 1.1 average scrape gaps of them (else half a gap), and at the start never below zero
    /// (Prometheus's extrapolatedRate; counters here never reset).
    /// </summary>
    public static double ExtrapolatedDelta(double firstTime, double firstValue, double lastTime, double lastValue, int samples, double start, double end, bool rate)
    {
        var delta = lastValue - firstValue;
        var sampled = lastTime - firstTime;
        var toStart = firstTime - start;
        var toEnd = end - lastTime;
        var gap = sampled / (samples - 1);
        if (delta > 0 && firstValue >= 0)
        {
            // The counter would have been zero this long before the first sample: do not extrapolate past that.
            toStart = Math.Min(toStart, sampled * (firstValue / delta));
        }

        var threshold = gap * 1.1;
        var extrapolated = sampled + (toStart < threshold ? toStart : gap / 2) + (toEnd < threshold ? toEnd : gap / 2);
        var result = delta * (extrapolated / sampled);
        return rate ? result / (end - start) : result;
    }

    /// <summary>
    /// histogram_quantile(φ) of cumulative bucket counts (the last is +Inf): the rank φ × count found
    /// in its bucket and interpolated linearly inside it (from 0 in the first); a rank in the +Inf
    /// bucket gives the highest finite edge; no observations give NaN (Prometheus's bucketQuantile).
    /// </summary>
    public static double HistogramQuantile(double phi, IReadOnlyList<double> edges, double[] cumulative)
    {
        var total = cumulative[^1];
        if (!(total > 0))
        {
            return double.NaN;
        }

        var rank = phi * total;
        var b = 0;
        while (b < cumulative.Length - 1 && cumulative[b] < rank)
        {
            b++;
        }

        if (b == cumulative.Length - 1)
        {
            return edges[^1];
        }

        var lower = b == 0 ? 0 : edges[b - 1];
        var below = b == 0 ? 0 : cumulative[b - 1];
        var inBucket = cumulative[b] - below;
        return inBucket <= 0 ? edges[b] : lower + ((edges[b] - lower) * ((rank - below) / inBucket));
    }
}
