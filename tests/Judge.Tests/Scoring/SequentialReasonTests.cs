using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Sequential;

namespace Canary.Judge.Tests.Scoring;

/// <summary>What a sequential metric's reason says: how much worse, the bound that decided, the evidence against 1/α, and after how long.</summary>
public sealed class SequentialReasonTests
{
    private static readonly MetricConfig Errors = new() { Name = "errors", Method = JudgeMethod.Sequential, Direction = Direction.Increase, EffectSize = new EffectSizeSettings { AllowedIncrease = 1.2 } };

    // Ten one-minute intervals, the canary with three times the baseline's errors at a tenth of its traffic.
    private static readonly CountInterval[] Faulty = [.. Enumerable.Repeat(new CountInterval(10, 1000, 3, 100), 10)];

    [Fact]
    public void A_crossing_says_the_ratio_its_lower_bound_the_evidence_and_the_time_it_took()
    {
        var result = Judge(new CountData(Faulty) { IntervalSeconds = 60 });
        var crossedAfter = (result.Sequential!.CrossedAt!.Value + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches($@"^errors [0-9.]+× the baseline \(at least [0-9.]+×\), evidence [0-9.]+ ≥ 100 after {crossedAfter} min$", result.Reason);
    }

    [Fact]
    public void The_time_of_a_crossing_counts_the_intervals_stored_before_it()
    {
        // Four intervals judged on an earlier tick, the rest now: the crossing is as many minutes in as when judged at once.
        var whole = Judge(new CountData(Faulty) { IntervalSeconds = 60 });
        var first = Judge(new CountData(Faulty[..4]) { IntervalSeconds = 60 });
        Assert.Null(first.Sequential!.CrossedAt);
        var rest = Judge(new CountData(Faulty[4..]) { IntervalSeconds = 60, Prior = first.Sequential.CountState });
        Assert.Equal(whole.Sequential!.CountState!.CrossedSeconds, rest.Sequential!.CountState!.CrossedSeconds);
        Assert.Equal(whole.Reason, rest.Reason);
    }

    [Fact]
    public void Without_interval_lengths_the_reason_counts_intervals()
    {
        Assert.EndsWith(" intervals", Judge(new CountData(Faulty)).Reason, StringComparison.Ordinal);
    }

    private static MetricResult Judge(CountData data)
    {
        var config = new JudgeConfig { Name = "test", Judge = new JudgeSettings { ConfidenceLevel = 0.99 }, Metrics = [Errors] };
        return CanaryJudge.Judge(config, new Dictionary<string, MetricSeries> { ["errors"] = new("errors", [], []) { Sequential = data } }).Metrics[0];
    }
}
