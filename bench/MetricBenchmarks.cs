using BenchmarkDotNet.Attributes;
using Canary.Judge;
using Canary.Judge.Config;
using Canary.Judge.Statistics;

namespace Canary.Bench;

/// <summary>
/// One metric of n = m samples: the whole per-metric judgement, the test alone on sorted data,
/// and the floor every rank method pays: copying and sorting the two inputs.
/// </summary>
[MemoryDiagnoser]
public class MetricBenchmarks
{
    private double[] control = [];
    private double[] experiment = [];
    private double[] sortedControl = [];
    private double[] sortedExperiment = [];
    private double[] sortBuffer = [];
    private double[] scratch = [];
    private double[] otherBuffer = [];
    private readonly Canary.Judge.Scoring.MetricWorkspace workspace = new();
    private JudgeConfig config = new();
    private Dictionary<string, MetricSeries> series = [];

    [Params(100, 1000, 10000)]
    public int Samples { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (control, experiment) = BenchData.Metric(0, Samples);
        sortedControl = (double[])control.Clone();
        sortedExperiment = (double[])experiment.Clone();
        Array.Sort(sortedControl);
        Array.Sort(sortedExperiment);
        sortBuffer = new double[2 * Samples];
        scratch = new double[2 * Samples];
        otherBuffer = new double[Samples + 123];
        config = new JudgeConfig { Metrics = [new MetricConfig { Name = "latency", Direction = Direction.Increase }] };
        series = new() { ["latency"] = new MetricSeries("latency", control, experiment) };
    }

    [Benchmark(Baseline = true, Description = "copy + sort both inputs")]
    public double SortBothInputs()
    {
        var a = sortBuffer.AsSpan(0, Samples);
        var b = sortBuffer.AsSpan(Samples, Samples);
        control.CopyTo(a);
        experiment.CopyTo(b);
        a.Sort();
        b.Sort();
        return a[0] + b[0];
    }

    [Benchmark(Description = "copy + sort + Mann-Whitney")]
    public double SortThenTest()
    {
        var a = sortBuffer.AsSpan(0, Samples);
        var b = otherBuffer.AsSpan(0, Samples);
        control.CopyTo(a);
        experiment.CopyTo(b);
        a.Sort();
        b.Sort();
        return MannWhitney.Test(b, a, 0.98, scratch).Lower;
    }

    [Benchmark(Description = "MetricAnalysis.Judge")]
    public double AnalysisOnly() => Canary.Judge.Scoring.MetricAnalysis.Judge(config.Metrics[0], series["latency"], config.Judge, workspace).Control.Mean;

    [Benchmark(Description = "judge one metric (CanaryJudge.Judge)")]
    public double JudgeOneMetric() => CanaryJudge.Judge(config, series).Score;

    [Benchmark(Description = "Mann-Whitney + HL interval on sorted data")]
    public double MannWhitneyOnSortedData() => MannWhitney.Test(sortedExperiment, sortedControl, 0.98, scratch).Lower;
}
