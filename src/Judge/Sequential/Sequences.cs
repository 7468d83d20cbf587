namespace Canary.Judge.Sequential;

/// <summary>Which way a sequential metric may not move: one-sided, or either (the mean of the two one-sided e-values).</summary>
public enum SequentialSide
{
    Increase,
    Decrease,
    Either,
}

/// <summary>What a sequential metric is tested against: α = 1 − confidence level, the side, and the ratios allowed before it counts.</summary>
public sealed record SequentialTest(double Alpha, SequentialSide Side, double AllowedIncrease = 1, double AllowedDecrease = 1)
{
    /// <summary>The evidence that crosses: 1/α.</summary>
    public double Threshold => 1 / Alpha;

    /// <summary>The level of each reported bound: α one-sided, α/2 each for either.</summary>
    public double BoundAlpha => Side == SequentialSide.Either ? Alpha / 2 : Alpha;
}

/// <summary>
/// A counts metric's stream as far as it has been judged, the incremental form: the intervals seen,
/// the e-value after each, where it first crossed, and the bounds kept as a running maximum
/// (lower) and minimum (upper). Update it with one interval per look.
/// </summary>
public sealed record CountSequenceState(IReadOnlyList<CountInterval> Intervals, IReadOnlyList<double> Evidence, int? CrossedAt, double Lower, double? Upper)
{
    public static CountSequenceState Empty { get; } = new([], [], null, 0, null);

    public double EValue => Evidence.Count == 0 ? 1 : Evidence[^1];
}

/// <summary>The counts test over a stream of intervals, whole or one interval at a time (the same arithmetic either way).</summary>
public static class CountSequence
{
    /// <summary>The state after one more interval, and the evidence it brings the stream to.</summary>
    public static (CountSequenceState State, double Evidence) Update(CountSequenceState state, CountInterval interval, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(test);
        var intervals = new List<CountInterval>(state.Intervals.Count + 1);
        intervals.AddRange(state.Intervals);
        intervals.Add(interval);
        var evidence = Evidence(intervals, test);
        var crossed = state.CrossedAt ?? (evidence >= test.Threshold ? state.Evidence.Count : null);
        var lower = Math.Max(state.Lower, RateRatioEProcess.Lower(intervals, test.BoundAlpha));
        var upper = Min(state.Upper, RateRatioEProcess.Upper(intervals, test.BoundAlpha));
        return (new CountSequenceState(intervals, [.. state.Evidence, evidence], crossed, lower, upper), evidence);
    }

    /// <summary>The whole stream, oldest interval first.</summary>
    public static CountSequenceState Judge(IEnumerable<CountInterval> intervals, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        var state = CountSequenceState.Empty;
        foreach (var interval in intervals)
        {
            state = Update(state, interval, test).State;
        }

        return state;
    }

    /// <summary>The e-value of the intervals for the test's side (either: the mean of both sides).</summary>
    public static double Evidence(IReadOnlyList<CountInterval> intervals, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        return test.Side switch
        {
            SequentialSide.Increase => RateRatioEProcess.Increase(intervals, test.AllowedIncrease),
            SequentialSide.Decrease => RateRatioEProcess.Decrease(intervals, test.AllowedDecrease),
            // The mean of two e-processes is an e-process: Vovk & Wang (2021), "E-values: calibration, combination and applications", Ann. Statist. 49(3).
            _ => (RateRatioEProcess.Increase(intervals, test.AllowedIncrease) / 2) + (RateRatioEProcess.Decrease(intervals, test.AllowedDecrease) / 2),
        };
    }

    internal static double? Min(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}

/// <summary>One interval of a histogram metric: each cohort's cumulative counts at the edges, +Inf (the total) last.</summary>
public sealed record HistogramInterval(IReadOnlyList<long> ControlBuckets, IReadOnlyList<long> ExperimentBuckets)
{
    /// <summary>The exceedance counts at finite edge k: observations above it out of the total, per cohort.</summary>
    public CountInterval Above(int edge)
    {
        var (control, experiment) = (ControlBuckets[^1], ExperimentBuckets[^1]);
        return new CountInterval(control - ControlBuckets[edge], control, experiment - ExperimentBuckets[edge], experiment);
    }
}

/// <summary>A histogram metric's stream: one counts stream per finite edge, and the mean of their e-values.</summary>
public sealed record HistogramSequenceState(IReadOnlyList<CountSequenceState> Edges, IReadOnlyList<double> Evidence, int? CrossedAt)
{
    public static HistogramSequenceState Empty(int edges) => new([.. Enumerable.Repeat(CountSequenceState.Empty, edges)], [], null);

    public double EValue => Evidence.Count == 0 ? 1 : Evidence[^1];

    /// <summary>The edge reported: the one named, else the one with the most evidence now (the first of equals).</summary>
    public int Reported(int? named)
    {
        if (named is { } edge)
        {
            return edge;
        }

        var best = 0;
        for (var k = 1; k < Edges.Count; k++)
        {
            if (Edges[k].EValue > Edges[best].EValue)
            {
                best = k;
            }
        }

        return best;
    }
}

/// <summary>
/// The histogram test: at each finite edge the exceedance ratio (observations above it, per
/// observation) is tested as a counts metric, and the evidence is the mean over the K edges (an
/// e-process, crossing at 1/α); the bounds of each edge are at α/K, so the one reported holds
/// whichever edge it is.
/// </summary>
public static class HistogramSequence
{
    public static (HistogramSequenceState State, double Evidence) Update(HistogramSequenceState state, HistogramInterval interval, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(interval);
        ArgumentNullException.ThrowIfNull(test);
        var k = state.Edges.Count;
        // Bonferroni over the edges for the bounds, each at α/K: Bonferroni (1936); the mean of e-values is an e-value: Vovk & Wang (2021).
        var perEdge = test with { Alpha = test.Alpha / k };
        var edges = new CountSequenceState[k];
        var sum = 0.0;
        for (var edge = 0; edge < k; edge++)
        {
            var (next, _) = CountSequence.Update(state.Edges[edge], interval.Above(edge), perEdge);
            // Each edge's own evidence is against its own intervals at the test's ratios; only its bounds use α/K.
            edges[edge] = next;
            // Each term divided first: the mean of huge e-values stays finite.
            sum += next.EValue / k;
        }

        var evidence = Math.Min(sum, double.MaxValue);
        var crossed = state.CrossedAt ?? (evidence >= test.Threshold ? state.Evidence.Count : null);
        return (new HistogramSequenceState(edges, [.. state.Evidence, evidence], crossed), evidence);
    }

    public static HistogramSequenceState Judge(IEnumerable<HistogramInterval> intervals, int edges, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        var state = HistogramSequenceState.Empty(edges);
        foreach (var interval in intervals)
        {
            state = Update(state, interval, test).State;
        }

        return state;
    }
}
