using System.Runtime.CompilerServices;

namespace Canary.Judge.Statistics;

internal static class InPlaceSelection
{
    /// <summary>
    /// The element that would stand at <paramref name="index"/> if values were sorted; reorders values.
    /// Hoare's FIND with a median-of-three pivot. Each partition is branch-free (Lomuto's scheme with
    /// the comparison's bit as the step, as in Edelkamp &amp; Weiß's BlockQuicksort), since the
    /// comparisons of a selection are coin flips a branch predictor cannot learn; a second pass
    /// splits off the elements equal to the pivot, so long runs of ties cost O(n) as well.
    /// </summary>
    public static double Nth(Span<double> values, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, values.Length);
        while (values.Length > 24)
        {
            var pivot = MedianOfThree(values[0], values[values.Length / 2], values[^1]);
            var below = Partition(values, pivot, orEqual: false);
            if (index < below)
            {
                values = values[..below];
                continue;
            }

            var rest = values[below..];
            var equal = Partition(rest, pivot, orEqual: true);
            if (index < below + equal)
            {
                return pivot;
            }

            index -= below + equal;
            values = rest[equal..];
        }

        values.Sort();
        return values[index];
    }

    /// <summary>Moves the elements below the pivot (or at most the pivot) to the front; returns how many there are.</summary>
    private static int Partition(Span<double> values, double pivot, bool orEqual)
    {
        var store = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i];
            values[i] = values[store];
            values[store] = value;
            store += orEqual ? Unsafe.BitCast<bool, byte>(value <= pivot) : Unsafe.BitCast<bool, byte>(value < pivot);
        }

        return store;
    }

    private static double MedianOfThree(double a, double b, double c) =>
        Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
