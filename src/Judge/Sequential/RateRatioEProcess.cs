namespace Canary.Judge.Sequential;

/// <summary>One interval of a counts metric: events (e.g. 5xx answers) and exposure (requests) of each cohort.</summary>
public readonly record struct CountInterval(long ControlEvents, long ControlExposure, long ExperimentEvents, long ExperimentExposure)
{
    /// <summary>Both cohorts had exposure: only then does the interval say anything about the ratio.</summary>
    public bool Informative => ControlExposure > 0 && ExperimentExposure > 0;
}

/// <summary>
/// The anytime-valid test of the ratio ρ = canary rate / baseline rate on per-interval counts.
/// Conditioned on each interval's total events N, the canary's events are Binomial(N, p) with
/// logit p = log ρ + log(canary exposure / baseline exposure), so a rate change common to both
/// cohorts cancels. The e-process for H0: ρ ≤ ρ0 mixes the likelihood ratios L(ρ0·e^θ)/L(ρ0) over
/// θ &gt; 0 (each is a nonnegative supermartingale under any ρ ≤ ρ0, so the mixture is one too and
/// Ville's inequality bounds the chance it ever reaches 1/α by α); H0: ρ ≥ ρ0 mixes over θ &lt; 0.
/// The confidence bounds invert the same e-processes (each is monotone in ρ0: the conditional
/// log-likelihood is concave in log ρ).
/// </summary>
public static class RateRatioEProcess
{
    /// <summary>The spacing of the grid of log ratios the incremental state keeps: half of log 1.1 (ratios 4.9 % apart).</summary>
    public static readonly double GridStep = Math.Log(1.1) / 2;

    /// <summary>The mixture's points in grid steps: roughly log-spaced from ×1.1 (2 steps) to ×8.1 (44 steps), so every mixed ratio of a grid null is a grid point.</summary>
    public static IReadOnlyList<int> MixtureSteps { get; } = [2, 3, 5, 8, 12, 18, 28, 44];

    /// <summary>
    /// The mixing distribution over θ = log(ρ/ρ0): equal weights on 8 roughly log-spaced points from
    /// log 1.1 to log 8.1 (ratios ×1.1 … ×8.1), each a whole number of grid steps; docs/judge.md says why.
    /// </summary>
    // Discrete mixture of likelihood ratios: Robbins (1970), "Statistical methods related to the law of the iterated logarithm"; grid as in Kaufmann & Koolen (2021), JMLR 22(246).
    public static IReadOnlyList<double> Thetas { get; } = [.. MixtureSteps.Select(k => k * GridStep)];

    private const double Widest = 30;

    /// <summary>The conditional log-likelihood of the intervals at θ = log ρ (constants left out).</summary>
    // Conditional binomial likelihood of a Poisson rate ratio: Lehmann & Romano, Testing Statistical Hypotheses (2005), §4.6.
    public static double LogLikelihood(IReadOnlyList<CountInterval> intervals, double logRatio)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        var sum = 0.0;
        for (var i = 0; i < intervals.Count; i++)
        {
            sum += Term(intervals[i], logRatio);
        }

        return sum;
    }

    /// <summary>The e-value against H0: ρ ≤ nullRatio (evidence of an increase).</summary>
    public static double Increase(IReadOnlyList<CountInterval> intervals, double nullRatio) => Mixture(intervals, Math.Log(nullRatio), +1);

    /// <summary>The e-value against H0: ρ ≥ nullRatio (evidence of a decrease).</summary>
    public static double Decrease(IReadOnlyList<CountInterval> intervals, double nullRatio) => Mixture(intervals, Math.Log(nullRatio), -1);

    /// <summary>The one-sided 1 − α lower bound of ρ: the largest null the increase-side e-process rejects; 0 when it rejects none.</summary>
    // Confidence sequences by inverting e-processes: Howard, Ramdas, McAuliffe & Sekhon (2021), Ann. Statist. 49(2), §3.
    public static double Lower(IReadOnlyList<CountInterval> intervals, double alpha) => Bound(intervals, alpha, +1) is { } bound ? Math.Exp(bound) : 0;

    /// <summary>The one-sided 1 − α upper bound of ρ: the smallest null the decrease-side e-process rejects; null when it rejects none.</summary>
    public static double? Upper(IReadOnlyList<CountInterval> intervals, double alpha) => Bound(intervals, alpha, -1) is { } bound ? Math.Exp(bound) : null;

    /// <summary>
    /// The log of the farthest null the side's e-process rejects, searched from the side's far end
    /// (the increase side rejects low nulls, the decrease side high ones, each monotone in the null);
    /// null when it rejects none in the range. Bisection keeps the last null found rejected.
    /// </summary>
    private static double? Bound(IReadOnlyList<CountInterval> intervals, double alpha, int side)
    {
        var threshold = 1 / alpha;
        var (rejected, kept) = (-side * Widest, side * Widest);
        if (Mixture(intervals, rejected, side) < threshold)
        {
            return null;
        }

        if (Mixture(intervals, kept, side) >= threshold)
        {
            return kept;
        }

        for (var step = 0; step < 60; step++)
        {
            var middle = (rejected + kept) / 2;
            if (Mixture(intervals, middle, side) >= threshold)
            {
                rejected = middle;
            }
            else
            {
                kept = middle;
            }
        }

        return rejected;
    }

    /// <summary>The conditional maximum-likelihood ratio: 0 when the canary has no events, null when the baseline has none (or no interval is informative).</summary>
    // Maximum of the conditional binomial likelihood by Newton's method on its concave score: Lehmann & Romano (2005), §4.6.
    public static double? Estimate(IReadOnlyList<CountInterval> intervals)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        long canary = 0, baseline = 0;
        double canaryExposure = 0, baselineExposure = 0;
        foreach (var interval in intervals.Where(i => i.Informative))
        {
            (canary, baseline) = (canary + interval.ExperimentEvents, baseline + interval.ControlEvents);
            (canaryExposure, baselineExposure) = (canaryExposure + interval.ExperimentExposure, baselineExposure + interval.ControlExposure);
        }

        if (baseline == 0)
        {
            return null;
        }

        if (canary == 0)
        {
            return 0;
        }

        // Newton's method on the concave score, from the pooled rates' ratio.
        var theta = Math.Log(canary / canaryExposure / (baseline / baselineExposure));
        for (var step = 0; step < 100; step++)
        {
            var (score, information) = (0.0, 0.0);
            foreach (var interval in intervals)
            {
                var total = interval.ControlEvents + interval.ExperimentEvents;
                if (!interval.Informative || total == 0)
                {
                    continue;
                }

                var p = Logistic(theta + Offset(interval));
                score += interval.ExperimentEvents - (total * p);
                information += total * p * (1 - p);
            }

            var move = score / information;
            theta += Math.Clamp(move, -2, 2);
            if (Math.Abs(move) < 1e-12)
            {
                break;
            }
        }

        return Math.Exp(theta);
    }

    /// <summary>The mixture's e-value, summed in log space (log-sum-exp) and capped at double.MaxValue, so large data gives a huge number, never infinity.</summary>
    private static double Mixture(IReadOnlyList<CountInterval> intervals, double logNull, int side)
    {
        var at = LogLikelihood(intervals, logNull);
        Span<double> logs = stackalloc double[Thetas.Count];
        for (var j = 0; j < logs.Length; j++)
        {
            logs[j] = LogLikelihood(intervals, logNull + (side * Thetas[j])) - at;
        }

        return MeanOfExp(logs);
    }

    /// <summary>One interval's term of the conditional log-likelihood at θ = log ρ (0 for an uninformative interval).</summary>
    internal static double Term(CountInterval interval, double logRatio)
    {
        var total = interval.ControlEvents + interval.ExperimentEvents;
        if (!interval.Informative || total == 0)
        {
            return 0;
        }

        var z = logRatio + Offset(interval);
        return (interval.ExperimentEvents * z) - (total * Softplus(z));
    }

    /// <summary>The mean of exp(log-likelihood ratio) over the mixture, from the log-likelihood differences, in log space and capped.</summary>
    internal static double MeanOfExp(ReadOnlySpan<double> logs)
    {
        var largest = double.NegativeInfinity;
        foreach (var log in logs)
        {
            largest = Math.Max(largest, log);
        }

        var sum = 0.0;
        foreach (var log in logs)
        {
            sum += Math.Exp(log - largest);
        }

        var value = Math.Exp(largest + Math.Log(sum / logs.Length));
        return double.IsNaN(value) ? 1 : Math.Min(value, double.MaxValue);
    }

    // log(canary exposure / baseline exposure) from the ratio of the two integers, so scaling both by one factor leaves it exactly as it was;
    // taken from the ratio that is at least 1 and negated otherwise, so swapping the cohorts negates it exactly.
    private static double Offset(CountInterval interval) => interval.ExperimentExposure >= interval.ControlExposure
        ? Math.Log((double)interval.ExperimentExposure / interval.ControlExposure)
        : -Math.Log((double)interval.ControlExposure / interval.ExperimentExposure);

    private static double Softplus(double z) => z > 0 ? z + Math.Log(1 + Math.Exp(-z)) : Math.Log(1 + Math.Exp(z));

    private static double Logistic(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
}
