using System.Globalization;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Simulation;

/// <summary>
/// The rules a study compares on the same streams. Each is a Canary as a user would write it,
/// read by the real Canary reader, and judged on the real analysis path:
/// <list type="bullet">
/// <item>mann-whitney: error rate and p99 as sampled metrics (one sample per step over the window), Mann–Whitney per metric; inconclusive analyses hold the release.</item>
/// <item>mann-whitney-before: the same, with inconclusive analyses counted as failed checks (canary before sequential evidence).</item>
/// <item>threshold: Flagger's built-in checks — the canary's error rate below a limit and its p99 below a limit, each over the last interval; no baseline.</item>
/// <item>sequential: errors (events) and latency (histogram) as sequential metrics, evidence kept for the whole release.</item>
/// </list>
/// </summary>
internal static class SimulationRules
{
    public const string MannWhitney = "mann-whitney";
    public const string MannWhitneyBefore = "mann-whitney-before";
    public const string Threshold = "threshold";
    public const string Sequential = "sequential";

    public static readonly IReadOnlyList<string> All = [MannWhitney, MannWhitneyBefore, Threshold, Sequential];

    /// <summary>The Canary of a rule under the study's settings; the threshold rule reads only its spec (its checks are its own).</summary>
    public static CanaryResource Resource(string rule, StudySettings settings, TemplateLibrary templates)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // Indented to sit under spec.analysis.config.metrics below.
        var metrics = rule == Sequential
            ? """
                        - {name: errors, template: http-errors, group: errors, critical: true, mustHaveData: true, effectSize: {allowedIncrease: 1.2}}
                        - {name: latency, template: http-latency, group: latency, effectSize: {allowedIncrease: 1.1}}
              """
            : """
                        - {name: error-rate, template: http-error-rate, group: errors, critical: true, mustHaveData: true, effectSize: {allowedIncrease: 1.2}}
                        - {name: p99, template: http-latency-p99, group: latency, effectSize: {allowedIncrease: 1.1}}
              """;
        var text = string.Create(CultureInfo.InvariantCulture, $$"""
            apiVersion: canary.dev/v1alpha1
            kind: Canary
            metadata: {name: simulated, namespace: simulation}
            spec:
              targetRef: {kind: Deployment, name: simulated}
              progressDeadline: {{Duration(settings.MaxNoEvidence)}}
              analysis:
                interval: {{Duration(settings.Interval)}}
                window: {{Duration(settings.Window)}}
                warmUp: {{Duration(settings.WarmUp)}}
                maxNoEvidence: {{Duration(settings.MaxNoEvidence)}}
                threshold: {{settings.Threshold}}
                minSamples: {{settings.MinSamples}}
                stepWeights: [{{string.Join(", ", settings.StepWeights)}}]
                config:
                  interval: {{Duration(settings.Interval)}}
                  step: {{Duration(rule == Sequential ? settings.Interval : settings.Step)}}
                  judge: {confidenceLevel: {{settings.ConfidenceLevel.ToString("R", CultureInfo.InvariantCulture)}}}
                  groupWeights: {errors: 70, latency: 30}
                  metrics:
            {{metrics}}
            """);
        var (resource, problems) = CanaryResourceReader.Read($"{rule}.yaml", text, templates);
        return resource ?? throw new Documents.InputException(problems);
    }

    private static string Duration(TimeSpan span) => span == TimeSpan.Zero ? "0s" : Documents.TimeArguments.Format(span);
}
