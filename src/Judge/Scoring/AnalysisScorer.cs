using System.Globalization;
using Canary.Judge.Config;
using Canary.Judge.Results;

namespace Canary.Judge.Scoring;

/// <summary>Turns metric results into group scores, a score and a verdict (Kayenta, NetflixACAJudge / WeightedSumScorer).</summary>
internal static class AnalysisScorer
{
    public static JudgeResult Score(JudgeConfig config, IReadOnlyList<MetricResult> metrics)
    {
        var counted = metrics.Where(m => !m.Muted).ToList();
        var groups = GroupScores(config, metrics, counted);
        var withoutData = counted.Count(m => m.Classification.LacksData());
        var inconclusive = counted.Count == 0
            || 2 * withoutData >= counted.Count
            || counted.Any(m => m.Classification == MetricClassification.NoDataFailure
                || (m.Critical && (m.Classification.LacksData() || m.Classification == MetricClassification.Error)))
            || groups.All(g => g.Score is null);

        double score;
        string reason;
        var criticalFailure = counted.FirstOrDefault(m => m.FailsAnalysis);
        if (counted.Count == 0)
        {
            (score, reason) = (0, "Every metric is muted: there is nothing to score.");
        }
        else if (criticalFailure is not null)
        {
            (score, reason) = (0, $"Critical metric {criticalFailure.Name} failed: {criticalFailure.Reason}");
        }
        else if (2 * withoutData >= counted.Count)
        {
            (score, reason) = (0, $"{withoutData} of {counted.Count} metrics have no data (at least half): there is no evidence either way.");
        }
        else
        {
            score = WeightedScore(config, groups);
            reason = Summary(score, config.Thresholds, counted);
        }

        score = Math.Round(score, 2, MidpointRounding.AwayFromZero);
        var classification = score >= config.Thresholds.Pass ? AnalysisClassification.Pass
            : score >= config.Thresholds.Marginal ? AnalysisClassification.Marginal
            : AnalysisClassification.Fail;
        return new JudgeResult(score, classification, inconclusive, reason, groups, metrics);
    }

    /// <summary>Per group, 100·#Pass / #(Pass, High, Low, NoDataFailure); null when the group has none of those.</summary>
    private static List<GroupResult> GroupScores(JudgeConfig config, IReadOnlyList<MetricResult> all, List<MetricResult> counted)
    {
        var names = config.GroupWeights.Keys.Concat(all.Select(m => m.Group)).Distinct(StringComparer.Ordinal);
        var groups = new List<GroupResult>();
        foreach (var name in names)
        {
            var members = counted.Where(m => m.Group == name).ToList();
            var scored = members.Count(m => m.Classification is MetricClassification.Pass or MetricClassification.High
                or MetricClassification.Low or MetricClassification.NoDataFailure);
            var passed = members.Count(m => m.Classification == MetricClassification.Pass);
            groups.Add(new GroupResult(name, scored == 0 ? null : 100.0 * passed / scored));
        }

        return groups;
    }

    /// <summary>
    /// Weighted mean of the group scores. Groups without a configured weight share what is left of 100
    /// equally; groups with nothing to score drop out and the weights of the rest are renormalised.
    /// </summary>
    private static double WeightedScore(JudgeConfig config, List<GroupResult> groups)
    {
        var unweighted = groups.Count(g => !config.GroupWeights.ContainsKey(g.Name));
        var remainder = Math.Max(0, 100 - config.GroupWeights.Values.Sum());
        double total = 0, weights = 0;
        foreach (var group in groups)
        {
            if (group.Score is not { } groupScore)
            {
                continue;
            }

            var weight = config.GroupWeights.TryGetValue(group.Name, out var configured) ? configured : remainder / unweighted;
            total += weight * groupScore;
            weights += weight;
        }

        return weights > 0 ? total / weights : 0;
    }

    private static string Summary(double score, ScoreThresholds thresholds, List<MetricResult> counted)
    {
        var failed = counted.Where(m => m.Classification is MetricClassification.High or MetricClassification.Low
            or MetricClassification.NoDataFailure).ToList();
        var text = score.ToString("0.##", CultureInfo.InvariantCulture);
        var standing = score >= thresholds.Pass ? $"at or above the pass threshold {thresholds.Pass.ToString(CultureInfo.InvariantCulture)}"
            : score >= thresholds.Marginal ? $"below the pass threshold {thresholds.Pass.ToString(CultureInfo.InvariantCulture)}"
            : $"below the marginal threshold {thresholds.Marginal.ToString(CultureInfo.InvariantCulture)}";
        var withData = counted.Count(m => !m.Classification.LacksData() && m.Classification != MetricClassification.Error);
        var detail = failed.Count == 0
            ? $"all {withData} metric{(withData == 1 ? string.Empty : "s")} with data passed"
            : $"{failed.Count} of {counted.Count} metrics failed: " + string.Join(", ", failed.Take(10).Select(m => $"{m.Name} ({m.Classification})"))
                + (failed.Count > 10 ? $" and {failed.Count - 10} more" : string.Empty);
        var missing = counted.Count(m => m.Classification == MetricClassification.NoData);
        detail += missing > 0 ? $"; {missing} had no data and did not count" : string.Empty;
        return $"Score {text} is {standing}; {detail}.";
    }
}
