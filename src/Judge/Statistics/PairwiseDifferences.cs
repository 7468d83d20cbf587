using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Canary.Judge.Statistics;

/// <summary>
/// Order statistics of the n·m pairwise differences x[i] − y[j] of two ascending samples, selected
/// exactly without materialising them. A counting walk (<see cref="DifferenceWalk"/>) ranks any
/// value in O(n + m); a sample of the differences brackets the wanted rank, false-position probes
/// with an overshoot narrow the bracket until it holds at most n + m differences, and those are
/// copied out and selected in place. Time O((n + m)·probes), memory O(n + m); the answer is the
/// exact double x[i] − y[j], so it holds at every scale.
/// </summary>
internal ref struct PairwiseDifferences
{
    private readonly ReadOnlySpan<double> x;
    private readonly ReadOnlySpan<double> y;
    private readonly Span<double> scratch;
    private readonly int budget;
    private readonly int[] rowBuffer;
    private ProbeBuffer probes;
    private int probeCount;
    private SampleBuffer sample;
    private ulong random;

    // Four row-start tables of n ints each, at these offsets in rowBuffer: the bracket's lower end
    // (first column with d ≤ A), its upper end (first column with d < B), and two for a probe.
    private RowTable lowerRows;
    private RowTable upperRows;
    private RowTable probeRows;
    private RowTable probeBelowRows;

    /// <param name="x">Ascending, finite, non-empty.</param>
    /// <param name="y">Ascending, finite, non-empty.</param>
    /// <param name="scratch">At least x.Length + y.Length doubles; overwritten.</param>
    public PairwiseDifferences(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> scratch)
    {
        this.x = x;
        this.y = y;
        this.scratch = scratch[..(x.Length + y.Length)];
        budget = this.scratch.Length;
        Count = (long)x.Length * y.Length;
        rowBuffer = ArrayPool<int>.Shared.Rent(4 * x.Length);
        (lowerRows, upperRows, probeRows, probeBelowRows) = (new(0), new(x.Length), new(2 * x.Length), new(3 * x.Length));
        // Fixed seed: the answers never depend on it, only the path to them, and runs stay reproducible.
        random = 0x9E3779B97F4A7C15UL;
        Span<double> drawn = sample;
        for (var i = 0; i < drawn.Length; i++)
        {
            drawn[i] = x[(int)(NextRandom() % (ulong)x.Length)] - y[(int)(NextRandom() % (ulong)y.Length)];
        }

        drawn.Sort();
    }

    public long Count { get; }

    /// <summary>Number of walks over the data so far (for tests and benchmarks).</summary>
    public int Passes { get; private set; }

    public readonly void Dispose() => ArrayPool<int>.Shared.Return(rowBuffer);

    /// <summary>#{d ≤ t} and #{d &lt; t}.</summary>
    public (long AtMost, long Below) Rank(double t)
    {
        var probe = Probe(t, 0);
        return (probe.AtMost, probe.Below);
    }

    /// <summary>The k-th smallest difference, 1 ≤ k ≤ Count.</summary>
    public double Select(long k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, Count);

        var bracket = new Bracket(k, Count);
        for (var i = 0; i < probeCount; i++)
        {
            if (bracket.Narrow(probes[i]))
            {
                return bracket.Answer;
            }
        }

        // A random sample of the differences brackets rank k to within a few of its standard errors,
        // so the search starts near the answer instead of between the extremes.
        var p = (k - 0.5) / Count;
        var spread = (2 * Math.Sqrt(SampleBuffer.Size * p * (1 - p))) + 1;
        foreach (var position in (ReadOnlySpan<double>)[(p * SampleBuffer.Size) - spread, (p * SampleBuffer.Size) + spread])
        {
            // Midway between two sampled differences, so the probe rarely equals a difference and
            // needs no second walk to count the ties.
            var index = Math.Clamp((int)position, 0, SampleBuffer.Size - 2);
            var candidate = Quantiles.Midpoint(sample[index], sample[index + 1]);
            if (bracket.Active > budget && candidate > bracket.A && candidate < bracket.B && Narrow(ref bracket, candidate, k))
            {
                return bracket.Answer;
            }
        }

        // Alternate two kinds of probe. A false-position probe interpolates rank k inside the bracket
        // and lands close to it, but on one side; the next probe aims past k by twice that miss, so
        // it lands on the other side and the bracket shrinks to a few misses wide. A pair that does
        // not halve the bracket (heavy tails, ties) is followed by a random difference from inside it.
        var overshoot = 0.0;
        var pairStart = bracket.Active;
        while (bracket.Active > budget)
        {
            var active = bracket.Active;
            var target = Math.Clamp(k - 0.5 + overshoot, bracket.AtMostA + (0.25 * (k - bracket.AtMostA)), bracket.BelowB - (0.25 * (bracket.BelowB - k)));
            var t = overshoot == 0 && active > pairStart / 2 && pairStart != active
                ? RandomBetween(bracket, active)
                : Interpolate(bracket, target);
            if (!(t > bracket.A && t < bracket.B))
            {
                t = RandomBetween(bracket, active);
            }

            if (Narrow(ref bracket, t, k))
            {
                return bracket.Answer;
            }

            if (overshoot == 0)
            {
                // Miss in ranks: negative when the probe fell below rank k, positive above it.
                var probe = probes[probeCount - 1];
                var miss = probe.AtMost < k ? probe.AtMost - (k - 0.5) : probe.Below - (k - 0.5);
                overshoot = -Math.Sign(miss) * Math.Max(2 * Math.Abs(miss), budget / 4.0);
                pairStart = active;
            }
            else
            {
                overshoot = 0;
            }
        }

        return SelectBetween(bracket, k);
    }

    /// <summary>The value at which the bracket's chord reaches the given rank.</summary>
    private static double Interpolate(Bracket bracket, double rank)
    {
        var fraction = (rank - bracket.AtMostA) / bracket.Active;
        var t = bracket.A + ((bracket.B - bracket.A) * fraction);
        return double.IsFinite(t) ? t : (bracket.A / 2) + (bracket.B / 2);
    }

    /// <summary>Probes t and tightens the bracket, keeping the row starts of whichever end t becomes.</summary>
    private bool Narrow(ref Bracket bracket, double t, long k)
    {
        var probe = Probe(t, k);
        if (bracket.Narrow(probe))
        {
            return true;
        }

        if (bracket.A == t)
        {
            (lowerRows, probeRows) = (probeRows.For(t), lowerRows);
        }
        else if (bracket.B == t)
        {
            if (probe.Below == probe.AtMost)
            {
                (upperRows, probeRows) = (probeRows.For(t), upperRows);
            }
            else
            {
                (upperRows, probeBelowRows) = (probeBelowRows.For(t), upperRows);
            }
        }

        return false;
    }

    /// <summary>
    /// Ranks t with one walk; remembers the result. #{d &lt; t} differs from #{d ≤ t} only when some
    /// difference equals t, and matters only when t is at or above rank k (is t the answer, or above
    /// it?): only then does it take a second walk. Otherwise it is left unknown (−1).
    /// </summary>
    private ProbeResult Probe(double t, long k)
    {
        Passes++;
        var rows = Rows(probeRows);
        var atMost = DifferenceWalk.CountAtMost(x, y, t, rows);
        var below = atMost;
        if (DifferenceWalk.AnyEqual(x, y, t, rows))
        {
            if (atMost < k)
            {
                var lowerEnd = new ProbeResult(t, atMost, -1);
                Remember(lowerEnd);
                return lowerEnd;
            }

            // d < t ⇔ d ≤ the largest double below t.
            Passes++;
            below = DifferenceWalk.CountAtMost(x, y, Math.BitDecrement(t), Rows(probeBelowRows));
        }

        var probe = new ProbeResult(t, atMost, below);
        Remember(probe);
        return probe;
    }

    /// <summary>Row starts of the bracket's ends: for each row, the columns of (A, B) are [upper[i], lower[i]).</summary>
    private void EnsureBracketRows(Bracket bracket)
    {
        if (!lowerRows.Holds(bracket.A))
        {
            Passes++;
            DifferenceWalk.CountAtMost(x, y, bracket.A, Rows(lowerRows));
            lowerRows = lowerRows.For(bracket.A);
        }

        if (!upperRows.Holds(bracket.B))
        {
            Passes++;
            DifferenceWalk.CountAtMost(x, y, Math.BitDecrement(bracket.B), Rows(upperRows));
            upperRows = upperRows.For(bracket.B);
        }
    }

    /// <summary>A difference drawn uniformly from those strictly between the bracket's ends.</summary>
    private double RandomBetween(Bracket bracket, long active)
    {
        EnsureBracketRows(bracket);
        ReadOnlySpan<int> lower = Rows(lowerRows), upper = Rows(upperRows);
        var target = (long)(NextRandom() % (ulong)active);
        for (var i = 0; i < x.Length; i++)
        {
            var inRow = lower[i] - upper[i];
            if (target < inRow)
            {
                return x[i] - y[upper[i] + (int)target];
            }

            target -= Math.Max(inRow, 0);
        }

        return (bracket.A / 2) + (bracket.B / 2);
    }

    /// <summary>Copies the differences strictly inside the bracket to scratch and selects the k-th smallest of all.</summary>
    private double SelectBetween(Bracket bracket, long k)
    {
        EnsureBracketRows(bracket);
        ReadOnlySpan<int> lower = Rows(lowerRows), upper = Rows(upperRows);
        var count = 0;
        for (var i = 0; i < x.Length; i++)
        {
            // Most rows hold none or a few: copy four unconditionally and keep as many as the row has,
            // instead of a short loop whose exit the branch predictor cannot learn.
            var xi = x[i];
            int from = upper[i], width = lower[i] - from;
            if (width <= 4 && from + 4 <= y.Length && count + 4 <= scratch.Length)
            {
                (Vector256.Create(xi) - Vector256.Create(y.Slice(from, 4))).CopyTo(scratch.Slice(count, 4));
                count += Math.Max(width, 0);
            }
            else
            {
                for (var j = from; j < from + width; j++)
                {
                    scratch[count++] = xi - y[j];
                }
            }
        }

        var between = scratch[..count];
        var index = (int)(k - bracket.AtMostA) - 1;
        var answer = InPlaceSelection.Nth(between, index);
        // Remember the answer's exact ranks and its successor's, so a neighbouring rank (the other
        // half of an even median, an interval end) starts from a tight bracket or needs no search.
        long atMost = 0, below = 0;
        var next = double.PositiveInfinity;
        foreach (var d in between)
        {
            atMost += d <= answer ? 1 : 0;
            below += d < answer ? 1 : 0;
            next = d > answer && d < next ? d : next;
        }

        Remember(new ProbeResult(answer, bracket.AtMostA + atMost, bracket.AtMostA + below));
        if (next < bracket.B)
        {
            var atMostNext = bracket.AtMostA + atMost;
            foreach (var d in between)
            {
                atMostNext += d == next ? 1 : 0;
            }

            Remember(new ProbeResult(next, atMostNext, bracket.AtMostA + atMost));
        }

        return answer;
    }

    private readonly Span<int> Rows(RowTable table) => rowBuffer.AsSpan(table.Offset, x.Length);

    // xorshift64 (Marsaglia 2003).
    private ulong NextRandom()
    {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        return random;
    }

    private void Remember(ProbeResult probe)
    {
        if (probeCount < ProbeBuffer.Capacity)
        {
            probes[probeCount++] = probe;
        }
        else
        {
            // Keep the newest: they lie closest to the ranks being selected.
            probes[ProbeBuffer.Capacity - 1] = probe;
        }
    }

    /// <summary>A ranked value: #{d ≤ Value} and #{d &lt; Value} (−1 when not counted).</summary>
    private readonly record struct ProbeResult(double Value, long AtMost, long Below);

    /// <summary>A table of row starts in rowBuffer and the value it was walked for (NaN: none yet).</summary>
    private readonly record struct RowTable(int Offset, double Value = double.NaN)
    {
        public bool Holds(double value) => Value.Equals(value);

        public RowTable For(double value) => this with { Value = value };
    }

    /// <summary>
    /// The open interval (A, B) known to hold the k-th smallest difference:
    /// AtMostA = #{d ≤ A} &lt; k ≤ #{d &lt; B} = BelowB.
    /// </summary>
    private struct Bracket(long k, long count)
    {
        public double A { get; private set; } = double.NegativeInfinity;

        public double B { get; private set; } = double.PositiveInfinity;

        public long AtMostA { get; private set; }

        public long BelowB { get; private set; } = count;

        public double Answer { get; private set; } = double.NaN;

        public readonly long Active => BelowB - AtMostA;

        /// <summary>Tightens the bracket with a probe; true when the probe's value is itself the answer.</summary>
        public bool Narrow(ProbeResult probe)
        {
            if (probe.Below < 0)
            {
                // #{d < t} unknown: usable only as a lower end.
                if (probe.AtMost < k && probe.Value > A)
                {
                    (A, AtMostA) = (probe.Value, probe.AtMost);
                }

                return false;
            }

            if (probe.Below < k && k <= probe.AtMost)
            {
                Answer = probe.Value;
                return true;
            }

            if (probe.AtMost < k && probe.Value > A)
            {
                (A, AtMostA) = (probe.Value, probe.AtMost);
            }
            else if (probe.Below >= k && probe.Value < B)
            {
                (B, BelowB) = (probe.Value, probe.Below);
            }

            return false;
        }
    }

    [InlineArray(Size)]
    private struct SampleBuffer
    {
        public const int Size = 256;
        private double element;
    }

    [InlineArray(Capacity)]
    private struct ProbeBuffer
    {
        public const int Capacity = 48;
        private ProbeResult element;
    }
}
