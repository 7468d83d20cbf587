using System.Globalization;
using BenchmarkDotNet.Running;
using Canary.Bench;

// bench make-batch FOLDER METRICS SAMPLES   writes the batch for the CLI and R timings
// bench [BenchmarkDotNet arguments]         runs the benchmarks
if (args.Length == 4 && args[0] == "make-batch")
{
    BenchData.WriteBatch(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
    return 0;
}

// bench make-year FILE                      writes the year of history the report benchmark reads
if (args.Length == 2 && args[0] == "make-year")
{
    await ReportBenchmarks.WriteYearAsync(args[1]);
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(MetricBenchmarks).Assembly).Run(args);
return 0;
