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
/// A counts metric's stream as far as it has been judged, in a fixed size whatever its length (the
/// incremental form a rollout stores each tick): the conditional log-likelihood summed over the
/// intervals at the grid of log ratios (m − 88) × <see cref="RateRatioEProcess.GridStep"/> and at
/// the test's own null ratios, the last e-values, where the evidence first crossed and which way,
/// and the bounds kept as a running maximum (lower) and minimum (upper). Update it with one
/// interval per look; the e-values are exactly those of the whole stream, the bounds those of the
/// grid (docs/judge.md, "Stored evidence").
/// </summary>
public sealed record CountSequenceState
{
    /// <summary>Grid points each side of ratio 1: log-likelihoods are kept at m × step for |m| ≤ 88 (ratios 1/65 … 65).</summary>
    public const int GridHalf = 88;

    /// <summary>Grid points each side of ratio 1 where the bounds are looked for (ratios 1/8.1 … 8.1): every mixed ratio of such a null is on the grid.</summary>
    public const int BoundHalf = GridHalf - 44;

    public static CountSequenceState Empty { get; } = new();

    /// <summary>The test the sums belong to; null before the first interval.</summary>
    public SequentialTest? Test { get; init; }

    /// <summary>Intervals seen, and those where both cohorts had exposure.</summary>
    public int Intervals { get; init; }

    public int Informative { get; init; }

    /// <summary>Each cohort's events over the informative intervals (the estimate's special cases).</summary>
    public long ControlEvents { get; init; }

    public long ExperimentEvents { get; init; }

    /// <summary>The log-likelihood at grid point m (index m + 88); empty before the first informative interval.</summary>
    public IReadOnlyList<double> Grid { get; init; } = [];

    /// <summary>The log-likelihood at log allowedIncrease + k × step for k = 0 and each mixture step.</summary>
    public IReadOnlyList<double> AtIncrease { get; init; } = [];

    /// <summary>The log-likelihood at log allowedDecrease − k × step for k = 0 and each mixture step.</summary>
    public IReadOnlyList<double> AtDecrease { get; init; } = [];

    /// <summary>The one-sided e-values after the last interval.</summary>
    public double Increase { get; init; } = 1;

    public double Decrease { get; init; } = 1;

    /// <summary>The e-value of the test's side after the last interval (either: the mean of both sides).</summary>
    public double EValue { get; init; } = 1;

    /// <summary>The interval (0-based, of the whole stream) where the evidence first reached 1/α, or null; once set it stays.</summary>
    public int? CrossedAt { get; init; }

    /// <summary>Whether the crossing was an increase (either: the larger side at the crossing).</summary>
    public bool CrossedHigh { get; init; }

    /// <summary>The e-value at the crossing.</summary>
    public double? CrossedEValue { get; init; }

    public double Lower { get; init; }

    public double? Upper { get; init; }

    /// <summary>The time the stream's intervals cover (seconds; 0 when their length is not known), and that time at the crossing.</summary>
    public double Seconds { get; init; }

    public double? CrossedSeconds { get; init; }

    /// <summary>The conditional maximum-likelihood ratio from the grid (a parabola through the best point and its neighbours): 0 without canary events, null without baseline events.</summary>
    public double? Estimate()
    {
        if (ControlEvents == 0 || Grid.Count == 0)
        {
            return null;
        }

        if (ExperimentEvents == 0)
        {
            return 0;
        }

        var best = 0;
        for (var i = 1; i < Grid.Count; i++)
        {
            best = Grid[i] > Grid[best] ? i : best;
        }

        var shift = 0.0;
        if (best > 0 && best < Grid.Count - 1)
        {
            // The vertex of the parabola through three equally spaced points.
            var (left, middle, right) = (Grid[best - 1], Grid[best], Grid[best + 1]);
            var curvature = left - (2 * middle) + right;
            shift = curvature < 0 ? Math.Clamp((left - right) / (2 * curvature), -0.5, 0.5) : 0;
        }

        return Math.Exp((best - GridHalf + shift) * RateRatioEProcess.GridStep);
    }
}

/// <summary>The counts test over a stream of intervals, whole or one interval at a time (the same arithmetic either way).</summary>
public static class CountSequence
{
    /// <summary>The state after one more interval, and the evidence it brings the stream to.</summary>
    /// <exception cref="ArgumentException">The state belongs to another test (other α, side or allowed ratios).</exception>
    public static (CountSequenceState State, double Evidence) Update(CountSequenceState state, CountInterval interval, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(test);
        if (state.Test is { } kept && kept != test)
        {
            throw new ArgumentException($"the stored evidence belongs to another test ({kept}), not {test}", nameof(state));
        }

        var steps = RateRatioEProcess.MixtureSteps;
        var grid = Add(state.Grid, 2 * CountSequenceState.GridHalf + 1, interval, i => (i - CountSequenceState.GridHalf) * RateRatioEProcess.GridStep);
        var logIncrease = Math.Log(test.AllowedIncrease);
        var logDecrease = Math.Log(test.AllowedDecrease);
        var atIncrease = Add(state.AtIncrease, steps.Count + 1, interval, j => logIncrease + ((j == 0 ? 0 : steps[j - 1]) * RateRatioEProcess.GridStep));
        var atDecrease = Add(state.AtDecrease, steps.Count + 1, interval, j => logDecrease - ((j == 0 ? 0 : steps[j - 1]) * RateRatioEProcess.GridStep));
        var increase = Mixture(atIncrease);
        var decrease = Mixture(atDecrease);
        var evidence = test.Side switch
        {
            SequentialSide.Increase => increase,
            SequentialSide.Decrease => decrease,
            // The mean of two e-processes is an e-process: Vovk & Wang (2021), "E-values: calibration, combination and applications", Ann. Statist. 49(3).
            _ => (increase / 2) + (decrease / 2),
        };
        var crosses = state.CrossedAt is null && evidence >= test.Threshold;
        var threshold = 1 / test.BoundAlpha;
        var lower = Math.Max(state.Lower, Bound(grid, increase >= threshold ? test.AllowedIncrease : null, threshold, +1) ?? 0);
        var upper = Min(state.Upper, Bound(grid, decrease >= threshold ? test.AllowedDecrease : null, threshold, -1));
        var informative = interval.Informative;
        var next = state with
        {
            Test = test,
            Intervals = state.Intervals + 1,
            Informative = state.Informative + (informative ? 1 : 0),
            ControlEvents = state.ControlEvents + (informative ? interval.ControlEvents : 0),
            ExperimentEvents = state.ExperimentEvents + (informative ? interval.ExperimentEvents : 0),
            Grid = grid,
            AtIncrease = atIncrease,
            AtDecrease = atDecrease,
            Increase = increase,
            Decrease = decrease,
            EValue = evidence,
            CrossedAt = crosses ? state.Intervals : state.CrossedAt,
            CrossedHigh = crosses ? test.Side == SequentialSide.Increase || (test.Side == SequentialSide.Either && increase >= decrease) : state.CrossedHigh,
            CrossedEValue = crosses ? evidence : state.CrossedEValue,
            Lower = lower,
            Upper = upper,
        };
        return (next, evidence);
    }

    /// <summary>The state after every interval from <paramref name="from"/> on, and the evidence after each of them.</summary>
    public static (CountSequenceState State, IReadOnlyList<double> Evidence) Run(CountSequenceState from, IEnumerable<CountInterval> intervals, SequentialTest test) =>
        Fold(from, intervals, (state, interval) => Update(state, interval, test));

    /// <summary>Updates a stream's state with each interval in turn, keeping the evidence after each.</summary>
    internal static (TState State, IReadOnlyList<double> Evidence) Fold<TState, TInterval>(TState from, IEnumerable<TInterval> intervals, Func<TState, TInterval, (TState State, double Evidence)> update)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        var state = from;
        var evidence = new List<double>();
        foreach (var interval in intervals)
        {
            (state, var e) = update(state, interval);
            evidence.Add(e);
        }

        return (state, evidence);
    }

    /// <summary>The whole stream, oldest interval first.</summary>
    public static CountSequenceState Judge(IEnumerable<CountInterval> intervals, SequentialTest test) => Run(CountSequenceState.Empty, intervals, test).State;

    /// <summary>The e-value of the intervals for the test's side (either: the mean of both sides), from the intervals themselves.</summary>
    public static double Evidence(IReadOnlyList<CountInterval> intervals, SequentialTest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        return test.Side switch
        {
            SequentialSide.Increase => RateRatioEProcess.Increase(intervals, test.AllowedIncrease),
            SequentialSide.Decrease => RateRatioEProcess.Decrease(intervals, test.AllowedDecrease),
            _ => (RateRatioEProcess.Increase(intervals, test.AllowedIncrease) / 2) + (RateRatioEProcess.Decrease(intervals, test.AllowedDecrease) / 2),
        };
    }

    internal static double? Min(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    /// <summary>The sums with one more interval's terms at the points <paramref name="at"/> gives; an uninformative interval adds nothing.</summary>
    private static double[] Add(IReadOnlyList<double> sums, int count, CountInterval interval, Func<int, double> at)
    {
        var next = new double[count];
        for (var i = 0; i < count; i++)
        {
            next[i] = (sums.Count == 0 ? 0 : sums[i]) + RateRatioEProcess.Term(interval, at(i));
        }

        return next;
    }

    /// <summary>The mixture e-value from the log-likelihoods at the null (index 0) and at each mixed ratio.</summary>
    private static double Mixture(double[] sums)
    {
        Span<double> logs = stackalloc double[sums.Length - 1];
        for (var j = 0; j < logs.Length; j++)
        {
            logs[j] = sums[j + 1] - sums[0];
        }

        return RateRatioEProcess.MeanOfExp(logs);
    }

    /// <summary>The mixture e-value of the grid null m against the side (+1: increase, −1: decrease).</summary>
    private static double GridMixture(double[] grid, int m, int side)
    {
        var steps = RateRatioEProcess.MixtureSteps;
        Span<double> logs = stackalloc double[steps.Count];
        var at = grid[m + CountSequenceState.GridHalf];
        for (var j = 0; j < steps.Count; j++)
        {
            logs[j] = grid[m + (side * steps[j]) + CountSequenceState.GridHalf] - at;
        }

        return RateRatioEProcess.MeanOfExp(logs);
    }

    /// <summary>
    /// The farthest grid null in ±44 steps the side's e-process rejects (increase: the largest, as a
    /// lower bound; decrease: the smallest, as an upper bound), or the test's own null when that is
    /// farther and rejected; null when none is. Each side is monotone in the null, so a bisection over
    /// the grid finds it.
    /// </summary>
    // Confidence sequences by inverting e-processes: Howard, Ramdas, McAuliffe & Sekhon (2021), Ann. Statist. 49(2), §3.
    private static double? Bound(double[] grid, double? ownNull, double threshold, int side)
    {
        double? found = null;
        if (grid.Length > 0)
        {
            // rejected: a grid null the side rejects (or one step beyond the range); kept: one it does not.
            var (rejected, kept) = (-side * (CountSequenceState.BoundHalf + 1), side * CountSequenceState.BoundHalf);
            if (GridMixture(grid, kept, side) >= threshold)
            {
                rejected = kept;
            }
            else
            {
                while (Math.Abs(kept - rejected) > 1)
                {
                    var middle = (rejected + kept) / 2;
                    if (GridMixture(grid, middle, side) >= threshold)
                    {
                        rejected = middle;
                    }
                    else
                    {
                        kept = middle;
                    }
                }
            }

            if (Math.Abs(rejected) <= CountSequenceState.BoundHalf)
            {
                found = Math.Exp(rejected * RateRatioEProcess.GridStep);
            }
        }

        if (ownNull is { } own && (found is not { } f || (side > 0 ? own > f : own < f)))
        {
            found = own;
        }

        return found;
    }
}
