using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Canary.Judge.Statistics;

/// <summary>
/// Walks over the implicit n·m matrix of differences x[i] − y[j] of two ascending samples. Row i's
/// differences fall as j rises (floating-point subtraction is monotone), so {j : d ≤ t} is a suffix
/// of the row whose start only moves right as i rises: one merge-like walk of n + m steps finds
/// every row's start (as in Johnson &amp; Mizoguchi 1978). Each step is branch-free, so a walk costs
/// the latency of its dependency chain; four walks over four bands of rows run side by side to hide it.
/// </summary>
internal static class DifferenceWalk
{
    private const int Bands = 4;

    /// <summary>
    /// #{(i, j) : x[i] − y[j] ≤ t}. Writes each row's start, the first column with d ≤ t (or m), to starts.
    /// </summary>
    public static long CountAtMost(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double t, Span<int> starts)
    {
        int n = x.Length, m = y.Length;
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        ref var rows = ref MemoryMarshal.GetReference(starts[..n]);
        if (n < 16 * Bands)
        {
            return Walk(ref xs, ref ys, ref rows, m, t, 0, n, 0);
        }

        // Band b covers rows [b·n/4, (b + 1)·n/4) and starts at its first row's start, found by bisection.
        int end0 = n / 4, end1 = n / 2, end2 = 3 * (n / 4), end3 = n;
        int i0 = 0, i1 = end0, i2 = end1, i3 = end2;
        int j0 = 0, j1 = RowStart(x[end0], y, t), j2 = RowStart(x[end1], y, t), j3 = RowStart(x[end2], y, t);
        long c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        while (i0 < end0 && j0 < m && i1 < end1 && j1 < m && i2 < end2 && j2 < m && i3 < end3 && j3 < m)
        {
            Step(ref xs, ref ys, ref rows, m, t, ref i0, ref j0, ref c0);
            Step(ref xs, ref ys, ref rows, m, t, ref i1, ref j1, ref c1);
            Step(ref xs, ref ys, ref rows, m, t, ref i2, ref j2, ref c2);
            Step(ref xs, ref ys, ref rows, m, t, ref i3, ref j3, ref c3);
        }

        return Walk(ref xs, ref ys, ref rows, m, t, i0, end0, j0) + c0
            + Walk(ref xs, ref ys, ref rows, m, t, i1, end1, j1) + c1
            + Walk(ref xs, ref ys, ref rows, m, t, i2, end2, j2) + c2
            + Walk(ref xs, ref ys, ref rows, m, t, i3, end3, j3) + c3;
    }

    /// <summary>Whether some difference equals t, given the row starts of a walk at t: only a row's start can.</summary>
    public static bool AnyEqual(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double t, ReadOnlySpan<int> starts)
    {
        var m = y.Length;
        var equal = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var j = starts[i];
            equal |= j < m ? Unsafe.BitCast<bool, byte>(x[i] - y[j] == t) : 0;
        }

        return equal != 0;
    }

    /// <summary>The first column j with xi − y[j] ≤ t, or m: bisection over a falling row.</summary>
    private static int RowStart(double xi, ReadOnlySpan<double> y, double t)
    {
        int low = 0, high = y.Length;
        while (low < high)
        {
            var mid = (int)((uint)(low + high) >> 1);
            if (xi - y[mid] > t)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    /// <summary>One step: close row i at column j when its difference is at most t, else move to the next column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref double xs, ref double ys, ref int rows, int m, double t, ref int i, ref int j, ref long count)
    {
        // Written on every step; the last write for a row is the column where it closed.
        Unsafe.Add(ref rows, i) = j;
        int above = Unsafe.BitCast<bool, byte>(Unsafe.Add(ref xs, i) - Unsafe.Add(ref ys, j) > t);
        count += (m - j) & (above - 1);
        j += above;
        i += 1 - above;
    }

    /// <summary>Walks rows [i, end) from column j; rows left open when the columns run out start at m.</summary>
    private static long Walk(ref double xs, ref double ys, ref int rows, int m, double t, int i, int end, int j)
    {
        long count = 0;
        while (i < end && j < m)
        {
            Step(ref xs, ref ys, ref rows, m, t, ref i, ref j, ref count);
        }

        for (; i < end; i++)
        {
            Unsafe.Add(ref rows, i) = m;
        }

        return count;
    }
}
