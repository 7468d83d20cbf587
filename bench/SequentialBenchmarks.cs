using BenchmarkDotNet.Attributes;
using Canary.Judge;
using Canary.Judge.Config;
using Canary.Judge.Sequential;

namespace Canary.Bench;

/// <summary>
/// A sequential counts metric (issue 16): one incremental update after 11 intervals (the 12th
/// look of a rollout that stores its state), a whole 12-interval stream judged at once, and the
/// Mann–Whitney metric of 1,000 samples per cohort beside them in the same run.
/// </summary>
[MemoryDiagnoser]
public class SequentialBenchmarks
{
    private static readonly SequentialTest Test = new(0.01, SequentialSide.Increase);
    private CountInterval[] stream = [];
    private CountSequenceState eleven = CountSequenceState.Empty;
    private JudgeConfig mannWhitney = new();
    private Dictionary<string, MetricSeries> samples = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(16);
        stream = [.. new[] { 0.05, 0.10, 0.25, 0.50 }.SelectMany(weight => Enumerable.Range(0, 3).Select(_ =>
        {
            var (baseline, canary) = ((long)(1200 * (1 - weight)), (long)(1200 * weight));
            return new CountInterval(random.Next(5, 20), baseline, random.Next(0, 10), canary);
        }))];
        eleven = CountSequence.Judge(stream[..11], Test);
        var (control, experiment) = BenchData.Metric(0, 1000);
        mannWhitney = new JudgeConfig { Metrics = [new MetricConfig { Name = "latency", Direction = Direction.Increase }] };
        samples = new() { ["latency"] = new MetricSeries("latency", control, experiment) };
    }

    [Benchmark(Description = "one incremental update (12th interval)")]
    public double Update() => CountSequence.Update(eleven, stream[11], Test).Evidence;

    [Benchmark(Description = "a 12-interval stream judged whole")]
    public double WholeStream() => CountSequence.Judge(stream, Test).EValue;

    [Benchmark(Baseline = true, Description = "Mann-Whitney metric, n = m = 1000")]
    public double MannWhitneyMetric() => CanaryJudge.Judge(mannWhitney, samples).Score;
}
