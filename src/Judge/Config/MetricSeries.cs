namespace Canary.Judge.Config;

/// <summary>
/// The samples of one metric for both cohorts. Missing points are NaN; non-finite values are
/// treated as missing and follow the metric's <see cref="NanStrategy"/>.
/// </summary>
public sealed record MetricSeries(string Metric, double[] Control, double[] Experiment);
