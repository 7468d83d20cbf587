namespace Canary.Judge.Sequential;

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

/// <summary>A histogram metric's stream: one counts stream per finite edge, the mean of their e-values, where it first crossed and which way.</summary>
public sealed record HistogramSequenceState(IReadOnlyList<CountSequenceState> Edges)
{
    public static HistogramSequenceState Empty(int edges) => new([.. Enumerable.Repeat(CountSequenceState.Empty, edges)]);

    public int Intervals { get; init; }

    public double EValue { get; init; } = 1;

    public int? CrossedAt { get; init; }

    /// <summary>Whether the crossing was an increase (either: the larger side summed over the edges at the crossing).</summary>
    public bool CrossedHigh { get; init; }

    /// <summary>The e-value at the crossing.</summary>
    public double? CrossedEValue { get; init; }

    /// <summary>The time the stream's intervals cover (seconds; 0 when not known), and that time at the crossing.</summary>
    public double Seconds { get; init; }

    public double? CrossedSeconds { get; init; }

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
    /// <exception cref="ArgumentException">The state has another number of edges, or belongs to another test.</exception>
    public static (HistogramSequenceState State, double Evidence) Update(HistogramSequenceState state, HistogramInterval interval, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(interval);
        ArgumentNullException.ThrowIfNull(test);
        var k = state.Edges.Count;
        if (interval.ControlBuckets.Count != k + 1 || interval.ExperimentBuckets.Count != k + 1)
        {
            throw new ArgumentException($"the stored evidence has {k} finite edges, the interval {interval.ControlBuckets.Count - 1}", nameof(interval));
        }

        // Bonferroni over the edges for the bounds, each at α/K: Bonferroni (1936); the mean of e-values is an e-value: Vovk & Wang (2021).
        var perEdge = test with { Alpha = test.Alpha / k };
        var edges = new CountSequenceState[k];
        var (sum, increase, decrease) = (0.0, 0.0, 0.0);
        for (var edge = 0; edge < k; edge++)
        {
            // Each edge's own evidence is against its own intervals at the test's ratios; only its bounds use α/K.
            edges[edge] = CountSequence.Update(state.Edges[edge], interval.Above(edge), perEdge).State;
            // Each term divided first: the mean of huge e-values stays finite.
            sum += edges[edge].EValue / k;
            increase += edges[edge].Increase / k;
            decrease += edges[edge].Decrease / k;
        }

        var evidence = Math.Min(sum, double.MaxValue);
        var crosses = state.CrossedAt is null && evidence >= test.Threshold;
        var next = state with
        {
            Edges = edges,
            Intervals = state.Intervals + 1,
            EValue = evidence,
            CrossedAt = crosses ? state.Intervals : state.CrossedAt,
            CrossedHigh = crosses ? test.Side == SequentialSide.Increase || (test.Side == SequentialSide.Either && increase >= decrease) : state.CrossedHigh,
            CrossedEValue = crosses ? evidence : state.CrossedEValue,
        };
        return (next, evidence);
    }

    /// <summary>The state after every interval from <paramref name="from"/> on, and the evidence after each of them.</summary>
    public static (HistogramSequenceState State, IReadOnlyList<double> Evidence) Run(HistogramSequenceState from, IEnumerable<HistogramInterval> intervals, SequentialTest test) =>
        CountSequence.Fold(from, intervals, (state, interval) => Update(state, interval, test));

    public static HistogramSequenceState Judge(IEnumerable<HistogramInterval> intervals, int edges, SequentialTest test) => Run(HistogramSequenceState.Empty(edges), intervals, test).State;
}
