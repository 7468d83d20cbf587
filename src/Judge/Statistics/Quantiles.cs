namespace Canary.Judge.Statistics;

internal static class Quantiles
{
    /// <summary>Quantile p of ascending data by linear interpolation: Hyndman &amp; Fan (1996) type 7, R's default.</summary>
    public static double Type7(ReadOnlySpan<double> sorted, double p)
    {
        var h = (sorted.Length - 1) * p;
        var low = (int)Math.Floor(h);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((h - low) * (sorted[high] - sorted[low]));
    }

    /// <summary>Median of ascending data, as R's median().</summary>
    public static double Median(ReadOnlySpan<double> sorted)
    {
        var half = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[half] : Midpoint(sorted[half - 1], sorted[half]);
    }

    /// <summary>(a + b) / 2 as R computes it, without overflowing to infinity near double.MaxValue.</summary>
    public static double Midpoint(double a, double b)
    {
        var mid = (a + b) / 2.0;
        return double.IsFinite(mid) ? mid : (a / 2.0) + (b / 2.0);
    }
}
