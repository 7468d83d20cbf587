using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Scoring;

namespace Canary.Judge;

/// <summary>Judges one analysis: every metric of a config against its control and experiment samples.</summary>
public static class CanaryJudge
{
    // Below this many samples in all, threads cost more than they save.
    private const long ParallelSampleThreshold = 200_000;

    /// <summary>
    /// Scores the analysis. A metric without an entry in <paramref name="series"/> has no data.
    /// The config must be valid (<see cref="JudgeConfigValidator"/>); the series may hold NaN for missing points.
    /// </summary>
    public static JudgeResult Judge(JudgeConfig config, IReadOnlyDictionary<string, MetricSeries> series)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(series);
        var metrics = config.Metrics;
        var results = new MetricResult[metrics.Count];
        var samples = series.Values.Sum(s => (long)s.Control.Length + s.Experiment.Length);
        if (metrics.Count > 1 && samples >= ParallelSampleThreshold)
        {
            Parallel.For(
                0,
                metrics.Count,
                () => new MetricWorkspace(),
                (i, _, workspace) =>
                {
                    results[i] = MetricAnalysis.Judge(metrics[i], series.GetValueOrDefault(metrics[i].Name), config.Judge, workspace);
                    return workspace;
                },
                workspace => workspace.Dispose());
        }
        else
        {
            using var workspace = new MetricWorkspace();
            for (var i = 0; i < metrics.Count; i++)
            {
                results[i] = MetricAnalysis.Judge(metrics[i], series.GetValueOrDefault(metrics[i].Name), config.Judge, workspace);
            }
        }

        return AnalysisScorer.Score(config, results);
    }
}
