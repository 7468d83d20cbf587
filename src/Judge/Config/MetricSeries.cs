using Canary.Judge.Sequential;

namespace Canary.Judge.Config;

/// <summary>
/// The samples of one metric for both cohorts. Missing points are NaN; non-finite values are
/// treated as missing and follow the metric's <see cref="NanStrategy"/>. A sequential metric
/// carries its per-interval data in <see cref="Sequential"/> instead.
/// </summary>
public sealed record MetricSeries(string Metric, double[] Control, double[] Experiment)
{
    public SequentialData? Sequential { get; init; }
}

/// <summary>The per-interval data of a sequential metric, oldest interval first.</summary>
public abstract record SequentialData
{
    public abstract int Intervals { get; }
}

/// <summary>Events and exposure of each cohort per interval.</summary>
public sealed record CountData(IReadOnlyList<CountInterval> Counts) : SequentialData
{
    public override int Intervals => Counts.Count;

    /// <summary>The stored evidence of the intervals before these (a rollout's earlier ticks), or null to start the stream here.</summary>
    public CountSequenceState? Prior { get; init; }

    /// <summary>How long each interval is (seconds), so reasons say how long the evidence took; null when unknown.</summary>
    public double? IntervalSeconds { get; init; }
}

/// <summary>Cumulative bucket counts of each cohort per interval at the edges <see cref="Edges"/> (the `le` strings, "+Inf" last).</summary>
public sealed record HistogramData(IReadOnlyList<string> Edges, IReadOnlyList<HistogramInterval> Buckets) : SequentialData
{
    public override int Intervals => Buckets.Count;

    /// <summary>The stored evidence of the intervals before these, with the same edges, or null to start the stream here.</summary>
    public HistogramSequenceState? Prior { get; init; }

    /// <summary>How long each interval is (seconds); null when unknown.</summary>
    public double? IntervalSeconds { get; init; }
}
