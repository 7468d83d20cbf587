using System.Runtime.CompilerServices;

namespace Canary.Judge.Statistics;

/// <summary>
/// Order statistics of the n·m pairwise differences x[i] − y[j] of two ascending samples, selected
/// exactly without materialising them. Counting the differences at or below a value takes one
/// O(n + m) two-pointer pass (floating-point subtraction is monotone, so each row's differences
/// stay sorted); an Illinois false-position search over those counts narrows a bracket until it
/// holds at most n + m differences, which are then copied out and selected in place.
/// Time O((n + m)·passes), memory O(n + m); the answer is the exact double x[i] − y[j].
/// </summary>
internal ref struct PairwiseDifferences
{
    private readonly ReadOnlySpan<double> x;
    private readonly ReadOnlySpan<double> y;
    private readonly Span<double> scratch;
    private ProbeBuffer probes;
    private int probeCount;
    private SampleBuffer sample;
    private ulong random;

    /// <param name="x">Ascending, finite, non-empty.</param>
    /// <param name="y">Ascending, finite, non-empty.</param>
    /// <param name="scratch">At least x.Length + y.Length doubles; overwritten.</param>
    public PairwiseDifferences(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> scratch)
    {
        this.x = x;
        this.y = y;
        this.scratch = scratch[..(x.Length + y.Length)];
        Count = (long)x.Length * y.Length;
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

    /// <summary>Number of passes over the data so far (for tests and benchmarks).</summary>
    public int Passes { get; private set; }

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
            var candidate = sample[Math.Clamp((int)position, 0, SampleBuffer.Size - 1)];
            if (bracket.Active > scratch.Length && candidate > bracket.A && candidate < bracket.B && bracket.Narrow(Probe(candidate)))
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
        while (bracket.Active > scratch.Length)
        {
            var active = bracket.Active;
            var target = overshoot == 0 ? k - 0.5 : k - 0.5 + overshoot;
            target = Math.Clamp(target, bracket.AtMostA + (0.25 * (k - bracket.AtMostA)), bracket.BelowB - (0.25 * (bracket.BelowB - k)));
            var t = overshoot == 0 && active > pairStart / 2 && pairStart != active
                ? RandomBetween(bracket.A, bracket.B, active)
                : Interpolate(bracket, target);
            if (!(t > bracket.A && t < bracket.B))
            {
                t = RandomBetween(bracket.A, bracket.B, active);
            }

            var probe = Probe(t);
            if (bracket.Narrow(probe))
            {
                return bracket.Answer;
            }

            if (overshoot == 0)
            {
                // Miss in ranks: negative when the probe fell below rank k, positive above it.
                var miss = probe.AtMost < k ? probe.AtMost - (k - 0.5) : probe.Below - (k - 0.5);
                overshoot = -Math.Sign(miss) * Math.Max(2 * Math.Abs(miss), scratch.Length / 4.0);
                pairStart = active;
            }
            else
            {
                overshoot = 0;
            }
        }

        return SelectBetween(bracket.A, bracket.B, bracket.AtMostA, k);
    }

    /// <summary>The value at which the bracket's chord reaches the given rank.</summary>
    private static double Interpolate(Bracket bracket, double rank)
    {
        var fraction = (rank - bracket.AtMostA) / bracket.Active;
        var t = bracket.A + ((bracket.B - bracket.A) * fraction);
        return double.IsFinite(t) ? t : (bracket.A / 2) + (bracket.B / 2);
    }

    /// <summary>Counts the differences at or below t and strictly below t in one pass, and remembers them.</summary>
    private ProbeResult Probe(double t)
    {
        Passes++;
        var m = y.Length;
        int atMostStart = 0, belowStart = 0;
        long atMost = 0, below = 0;
        foreach (var xi in x)
        {
            // Row i's differences fall as j rises, so {j : d ≤ t} is a suffix that only moves right.
            while (atMostStart < m && xi - y[atMostStart] > t)
            {
                atMostStart++;
            }

            while (belowStart < m && xi - y[belowStart] >= t)
            {
                belowStart++;
            }

            if (atMostStart == m)
            {
                break;
            }

            atMost += m - atMostStart;
            below += m - belowStart;
        }

        var probe = new ProbeResult(t, atMost, below);
        Remember(probe);
        return probe;
    }

    /// <summary>A difference drawn uniformly from those strictly between a and b.</summary>
    private double RandomBetween(double a, double b, long active)
    {
        var target = (long)(NextRandom() % (ulong)active);
        var m = y.Length;
        int startA = 0, startB = 0;
        foreach (var xi in x)
        {
            while (startA < m && xi - y[startA] > a)
            {
                startA++;
            }

            while (startB < m && xi - y[startB] >= b)
            {
                startB++;
            }

            // Columns [startB, startA) of this row lie strictly between a and b.
            var inRow = startA - startB;
            if (target < inRow)
            {
                return xi - y[startB + (int)target];
            }

            target -= Math.Max(inRow, 0);
        }

        return (a / 2) + (b / 2);
    }

    // xorshift64 (Marsaglia 2003).
    private ulong NextRandom()
    {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        return random;
    }

    /// <summary>Copies the differences strictly between a and b to scratch and selects the k-th smallest of all.</summary>
    private double SelectBetween(double a, double b, long atMostA, long k)
    {
        Passes++;
        var m = y.Length;
        int startA = 0, startB = 0, count = 0;
        foreach (var xi in x)
        {
            while (startA < m && xi - y[startA] > a)
            {
                startA++;
            }

            while (startB < m && xi - y[startB] >= b)
            {
                startB++;
            }

            for (var j = startB; j < startA; j++)
            {
                scratch[count++] = xi - y[j];
            }
        }

        var between = scratch[..count];
        var answer = InPlaceSelection.Nth(between, (int)(k - atMostA) - 1);
        // Remember the answer's exact ranks, so a neighbouring rank (the other half of an even
        // median, an interval end) starts from a tight bracket.
        long atMost = 0, below = 0;
        foreach (var d in between)
        {
            atMost += d <= answer ? 1 : 0;
            below += d < answer ? 1 : 0;
        }

        Remember(new ProbeResult(answer, atMostA + atMost, atMostA + below));
        return answer;
    }

    private void Remember(ProbeResult probe)
    {
        if (probeCount < ProbeBuffer.Capacity)
        {
            probes[probeCount++] = probe;
        }
    }

    private readonly record struct ProbeResult(double Value, long AtMost, long Below);

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
