using System.Text.Json;
using Canary.Judge.Sequential;

namespace Canary.Judge.Tests.Sequential;

public sealed class CountSequenceTests
{
    private static readonly SequentialTest Increase = new(0.01, SequentialSide.Increase);

    // A release at the steps 5, 10, 25, 50 %: the baseline's 1 % errors, the canary's 3 % (seed 7).
    private static readonly CountInterval[] Release =
    [
        new(11, 1140, 2, 60), new(9, 1090, 5, 118), new(17, 900, 10, 300), new(8, 600, 19, 600),
        new(12, 1210, 1, 62), new(10, 1080, 3, 121), new(9, 890, 8, 298), new(6, 610, 16, 590),
    ];

    [Fact]
    public void One_interval_at_a_time_through_a_stored_state_gives_the_whole_stream_s_evidence()
    {
        var (whole, evidence) = CountSequence.Run(CountSequenceState.Empty, Release, Increase);
        var state = CountSequenceState.Empty;
        var looks = new List<double>();
        foreach (var interval in Release)
        {
            // Stored between ticks as a rollout stores it.
            state = JsonSerializer.Deserialize<CountSequenceState>(JsonSerializer.Serialize(state))!;
            (state, var e) = CountSequence.Update(state, interval, Increase);
            looks.Add(e);
        }

        Assert.Equal(evidence, looks);
        Assert.Equal(whole.CrossedAt, state.CrossedAt);
        Assert.Equal((whole.Lower, whole.Upper), (state.Lower, state.Upper));
    }

    [Fact]
    public void The_evidence_after_each_interval_is_the_e_value_of_the_intervals_so_far()
    {
        var evidence = CountSequence.Run(CountSequenceState.Empty, Release, Increase).Evidence;
        for (var i = 0; i < Release.Length; i++)
        {
            Assert.Equal(RateRatioEProcess.Increase(Release[..(i + 1)], 1.0), evidence[i]);
        }
    }

    [Fact]
    public void A_tripled_error_rate_crosses_and_its_lower_bound_clears_the_allowed_ratio()
    {
        var state = CountSequence.Judge(Release, Increase);
        Assert.NotNull(state.CrossedAt);
        Assert.True(state.Lower > 1, $"lower {state.Lower}");
        Assert.True(state.CrossedEValue >= 100);
    }

    [Fact]
    public void Swapping_the_cohorts_mirrors_increase_and_decrease()
    {
        var swapped = Release.Select(i => new CountInterval(i.ExperimentEvents, i.ExperimentExposure, i.ControlEvents, i.ControlExposure)).ToArray();
        // The same likelihoods by other arithmetic: equal to rounding.
        Assert.Equal(RateRatioEProcess.Increase(Release, 1.25), RateRatioEProcess.Decrease(swapped, 1 / 1.25), 1e-9 * RateRatioEProcess.Increase(Release, 1.25));
        Assert.Equal(RateRatioEProcess.Decrease(Release, 0.8), RateRatioEProcess.Increase(swapped, 1 / 0.8), 1e-12);
    }

    [Fact]
    public void The_offsets_of_swapped_cohorts_are_exact_negations()
    {
        var swapped = Release.Select(i => new CountInterval(i.ExperimentEvents, i.ExperimentExposure, i.ControlEvents, i.ControlExposure)).ToArray();
        // At ratio 1 both sides see the same intervals mirrored: their likelihoods at θ and −θ agree to the last bit's rounding of the sums.
        Assert.Equal(RateRatioEProcess.LogLikelihood(Release, 0.3), RateRatioEProcess.LogLikelihood(swapped, -0.3), 1e-9);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Scaling_both_cohorts_exposure_in_an_interval_leaves_the_evidence_exactly_unchanged(long factor)
    {
        var scaled = Release.Select((i, n) => n == 3 ? i with { ControlExposure = i.ControlExposure * factor, ExperimentExposure = i.ExperimentExposure * factor } : i).ToArray();
        Assert.Equal(RateRatioEProcess.Increase(Release, 1.0), RateRatioEProcess.Increase(scaled, 1.0));
        Assert.Equal(RateRatioEProcess.Decrease(Release, 1.0), RateRatioEProcess.Decrease(scaled, 1.0));
    }

    [Theory]
    [InlineData(0, 500)]
    [InlineData(7, 0)]
    public void An_interval_where_a_cohort_has_no_exposure_changes_nothing(long controlExposure, long experimentExposure)
    {
        var events = controlExposure > 0 ? 7 : 0;
        var with = Release[..4].Append(new CountInterval(events, controlExposure, 0, experimentExposure)).Concat(Release[4..]).ToArray();
        var (state, evidence) = CountSequence.Run(CountSequenceState.Empty, with, Increase);
        Assert.Equal(evidence[3], evidence[4]);
        Assert.Equal(RateRatioEProcess.Increase(Release, 1.0), state.EValue);
    }

    [Fact]
    public void A_rate_change_common_to_both_cohorts_cancels()
    {
        // An outage that multiplies both cohorts' error rates by 20 in one interval: the conditional test sees the same split.
        var burst = Release.Select((i, n) => n == 5 ? i with { ControlEvents = i.ControlEvents * 20, ExperimentEvents = i.ExperimentEvents * 20, ControlExposure = i.ControlExposure * 20, ExperimentExposure = i.ExperimentExposure * 20 } : i).ToArray();
        var calm = Release.Select((i, n) => n == 5 ? i with { ControlEvents = i.ControlEvents * 20, ExperimentEvents = i.ExperimentEvents * 20 } : i).ToArray();
        Assert.Equal(RateRatioEProcess.Increase(burst, 1.0), RateRatioEProcess.Increase(calm, 1.0));
    }

    [Fact]
    public void The_e_value_agrees_with_binomial_likelihoods_computed_directly()
    {
        // A second implementation: canary share p = ρ·e_t / (ρ·e_t + e_c), the likelihood ratio of the split of each interval's events.
        static double Direct(IEnumerable<CountInterval> intervals, double nullRatio, double theta)
        {
            var log = 0.0;
            foreach (var i in intervals)
            {
                double Share(double ratio) => ratio * i.ExperimentExposure / ((ratio * i.ExperimentExposure) + i.ControlExposure);
                var (p1, p0) = (Share(nullRatio * Math.Exp(theta)), Share(nullRatio));
                log += (i.ExperimentEvents * Math.Log(p1 / p0)) + (i.ControlEvents * Math.Log((1 - p1) / (1 - p0)));
            }

            return Math.Exp(log);
        }

        var expected = RateRatioEProcess.Thetas.Average(theta => Direct(Release, 1.1, theta));
        Assert.Equal(expected, RateRatioEProcess.Increase(Release, 1.1), expected * 1e-9);
    }

    [Fact]
    public void The_estimate_is_the_conditional_maximum_likelihood_ratio()
    {
        // One interval: the MLE of the split is the observed share, so ρ̂ = (y / e_t) / (x / e_c) exactly.
        Assert.Equal(3.0, RateRatioEProcess.Estimate([new CountInterval(10, 1000, 6, 200)])!.Value, 1e-12);
    }

    [Fact]
    public void The_stored_state_does_not_grow_with_the_stream()
    {
        var ten = CountSequence.Judge(Enumerable.Range(0, 10).Select(i => Release[i % Release.Length]), Increase);
        var thousands = CountSequence.Judge(Enumerable.Range(0, 5000).Select(i => Release[i % Release.Length]), Increase);
        // The same arrays, numbers of a few more digits at most.
        Assert.InRange(JsonSerializer.Serialize(thousands).Length, 0, JsonSerializer.Serialize(ten).Length * 1.2);
    }

    [Fact]
    public void The_grid_estimate_is_within_a_percent_of_the_exact_maximum_likelihood_ratio()
    {
        var state = CountSequence.Judge(Release, Increase);
        // The exact estimate by Newton's method over the intervals themselves.
        var exact = RateRatioEProcess.Estimate(Release)!.Value;
        Assert.Equal(exact, state.Estimate()!.Value, exact * 0.01);
    }

    [Fact]
    public void No_canary_events_estimate_0_and_no_baseline_events_no_estimate()
    {
        Assert.Equal(0, RateRatioEProcess.Estimate([new CountInterval(10, 1000, 0, 200)]));
        Assert.Null(RateRatioEProcess.Estimate([new CountInterval(0, 1000, 4, 200)]));
    }

    [Fact]
    public void Without_informative_intervals_the_bounds_are_unbounded()
    {
        var state = CountSequence.Judge([new CountInterval(3, 100, 0, 0)], Increase);
        Assert.Equal((0.0, (double?)null), (state.Lower, state.Upper));
        Assert.Equal(1.0, state.EValue);
    }
}

public sealed class HistogramSequenceTests
{
    private static readonly SequentialTest Increase = new(0.01, SequentialSide.Increase);

    // Edges 0.05, 0.1, 0.25 and +Inf; the canary's latencies are longer (more above each edge).
    private static readonly HistogramInterval[] Release =
    [
        new([900, 1100, 1138, 1140], [40, 50, 58, 60]),
        new([880, 1050, 1087, 1090], [80, 100, 114, 118]),
        new([700, 860, 895, 900], [190, 240, 290, 300]),
        new([470, 570, 598, 600], [380, 480, 580, 600]),
    ];

    [Fact]
    public void The_evidence_is_the_mean_of_the_edges_exceedance_e_values()
    {
        var state = HistogramSequence.Judge(Release, 3, Increase);
        var edges = Enumerable.Range(0, 3).Select(k => RateRatioEProcess.Increase([.. Release.Select(i => i.Above(k))], 1.0)).ToList();
        Assert.Equal(edges.Average(), state.EValue, 1e-12 * state.EValue);
    }

    [Fact]
    public void Longer_latencies_cross()
    {
        var state = HistogramSequence.Judge(Release, 3, Increase);
        Assert.NotNull(state.CrossedAt);
    }

    [Fact]
    public void Without_a_named_edge_the_one_with_most_evidence_is_reported()
    {
        var state = HistogramSequence.Judge(Release, 3, Increase);
        // Computed here from the exceedance counts, not from the state's own per-edge e-values.
        var best = Enumerable.Range(0, 3).MaxBy(k => RateRatioEProcess.Increase([.. Release.Select(i => i.Above(k))], 1.0));
        Assert.Equal(best, state.Reported(null));
    }

    [Fact]
    public void Huge_histograms_give_a_huge_finite_evidence_not_infinity()
    {
        // A million observations per interval, the canary's all above every edge: the e-value is beyond any double, and capped.
        var huge = Enumerable.Range(0, 3).Select(_ => new HistogramInterval([1_000_000, 1_000_000, 1_000_000, 1_000_000], [0, 0, 0, 1_000_000])).ToArray();
        var state = HistogramSequence.Judge(huge, 3, Increase);
        Assert.True(double.IsFinite(state.EValue) && state.EValue > 1e300, $"{state.EValue}");
        Assert.Equal(0, state.CrossedAt);
    }

    [Fact]
    public void Each_edge_s_bounds_are_at_alpha_over_K()
    {
        var state = HistogramSequence.Judge(Release, 3, Increase);
        var intervals = Release.Select(i => i.Above(2)).ToArray();
        // Kept as a running maximum over the looks, on the grid: at most one grid step below the exact bound found by bisection.
        var exact = Enumerable.Range(1, intervals.Length).Max(n => RateRatioEProcess.Lower(intervals[..n], 0.01 / 3));
        Assert.InRange(state.Edges[2].Lower, exact / Math.Exp(RateRatioEProcess.GridStep), exact);
    }
}

public sealed class CrossingAndBoundTests
{
    [Fact]
    public void A_one_sided_counts_metric_crosses_exactly_when_its_lower_bound_reaches_the_allowed_ratio()
    {
        // 200 seeded streams between no effect and a doubled rate, against an allowed 10 % increase.
        var test = new SequentialTest(0.01, SequentialSide.Increase, AllowedIncrease: 1.1);
        var random = new Random(1612);
        for (var stream = 0; stream < 200; stream++)
        {
            var ratio = 1 + random.NextDouble();
            var intervals = Enumerable.Range(0, 6).Select(_ =>
            {
                var (baseline, canary) = (random.Next(500, 1500), random.Next(50, 600));
                return new CountInterval(random.Next(0, (baseline / 50) + 1), baseline, (long)Math.Min(canary, random.Next(0, (int)(canary / 50.0 * ratio * 2) + 1)), canary);
            }).ToArray();
            var state = CountSequence.Judge(intervals, test);
            Assert.Equal(state.CrossedAt is not null, state.Lower >= test.AllowedIncrease);
        }
    }
}
