namespace Canary.Judge.Statistics;

internal static class IqrOutliers
{
    /// <summary>
    /// The part of ascending data inside the fences [Q1 − f·IQR, Q3 + f·IQR], widened to at least the
    /// 1st and 99th percentiles so small samples keep their tails (Kayenta's IQRDetector with
    /// reduceSensitivity; Tukey 1977). Values on a fence are kept.
    /// </summary>
    public static ReadOnlySpan<double> Inliers(ReadOnlySpan<double> sorted, double factor)
    {
        if (sorted.Length < 2)
        {
            return sorted;
        }

        var q1 = Quantiles.Type7(sorted, 0.25);
        var q3 = Quantiles.Type7(sorted, 0.75);
        var iqr = q3 - q1;
        var low = Math.Min(Quantiles.Type7(sorted, 0.01), q1 - (factor * iqr));
        var high = Math.Max(Quantiles.Type7(sorted, 0.99), q3 + (factor * iqr));
        var start = 0;
        while (start < sorted.Length && sorted[start] < low)
        {
            start++;
        }

        var end = sorted.Length;
        while (end > start && sorted[end - 1] > high)
        {
            end--;
        }

        return sorted[start..end];
    }
}
