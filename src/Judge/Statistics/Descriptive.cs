using System.Numerics.Tensors;
using Canary.Judge.Results;

namespace Canary.Judge.Statistics;

internal static class Descriptive
{
    /// <summary>Count, mean, median, sample standard deviation (n − 1, as R's sd), min and max of ascending data.</summary>
    public static SeriesSummary Summarise(ReadOnlySpan<double> sorted, Span<double> scratch)
    {
        if (sorted.IsEmpty)
        {
            return SeriesSummary.Empty;
        }

        var mean = TensorPrimitives.Sum(sorted) / sorted.Length;
        var deviations = scratch[..sorted.Length];
        TensorPrimitives.Subtract(sorted, mean, deviations);
        var stdDev = sorted.Length > 1 ? Math.Sqrt(TensorPrimitives.SumOfSquares<double>(deviations) / (sorted.Length - 1)) : 0.0;
        return new SeriesSummary(sorted.Length, mean, Quantiles.Median(sorted), stdDev, sorted[0], sorted[^1]);
    }
}
