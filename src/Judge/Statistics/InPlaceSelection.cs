namespace Canary.Judge.Statistics;

internal static class InPlaceSelection
{
    /// <summary>
    /// The element that would stand at <paramref name="index"/> if values were sorted; reorders values.
    /// Hoare's FIND with median-of-three pivots and a three-way partition, so runs of ties cost O(n).
    /// </summary>
    public static double Nth(Span<double> values, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, values.Length);
        while (values.Length > 16)
        {
            var pivot = MedianOfThree(values[0], values[values.Length / 2], values[^1]);
            // Dutch national flag: [0, lt) < pivot, [lt, i) == pivot, (gt, end) > pivot.
            int lt = 0, i = 0, gt = values.Length - 1;
            while (i <= gt)
            {
                var v = values[i];
                if (v < pivot)
                {
                    (values[lt], values[i]) = (values[i], values[lt]);
                    lt++;
                    i++;
                }
                else if (v > pivot)
                {
                    (values[gt], values[i]) = (values[i], values[gt]);
                    gt--;
                }
                else
                {
                    i++;
                }
            }

            if (index < lt)
            {
                values = values[..lt];
            }
            else if (index <= gt)
            {
                return pivot;
            }
            else
            {
                index -= gt + 1;
                values = values[(gt + 1)..];
            }
        }

        values.Sort();
        return values[index];
    }

    private static double MedianOfThree(double a, double b, double c) =>
        Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
