using BenchmarkDotNet.Attributes;
using Canary.Judge.Statistics;

namespace Canary.Bench;

/// <summary>The exact selection of pairwise differences, in parts, for n = m = 1000.</summary>
[MemoryDiagnoser]
public class SelectionBenchmarks
{
    private double[] x = [];
    private double[] y = [];
    private double[] scratch = [];
    private int[] rows = new int[1000];

    [GlobalSetup]
    public void Setup()
    {
        var (control, experiment) = BenchData.Metric(0, 1000);
        x = experiment.Order().ToArray();
        y = control.Order().ToArray();
        scratch = new double[2000];
    }

    [Benchmark(Description = "set up (sample of 256 differences)")]
    public int Construct() => new PairwiseDifferences(x, y, scratch).Passes;

    [Benchmark(Description = "one counting walk")]
    public long CountingWalk() => DifferenceWalk.CountAtMost(x, y, 12.3456, rows);

    [Benchmark(Description = "median (k = nm/2)")]
    public double Median() => new PairwiseDifferences(x, y, scratch).Select(500_000);

    [Benchmark(Description = "median, then both interval ends")]
    public double ThreeRanks()
    {
        var d = new PairwiseDifferences(x, y, scratch);
        return d.Select(500_000) + d.Select(470_000) + d.Select(530_000);
    }
}
