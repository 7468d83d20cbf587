using Canary.Analyzer.Metrics;

namespace Canary.Analyzer.Simulation;

/// <summary>One scenario under one rule over all its rollouts.</summary>
internal sealed record RuleSummary(string Scenario, bool Bad, string Rule, int Rollouts, int RolledBack, int Promoted)
{
    public int Undecided => Rollouts - RolledBack - Promoted;

    public double Share => RolledBack / (double)Rollouts;

    /// <summary>The share's 95 % interval (Wilson score interval).</summary>
    public (double Low, double High) Interval { get; init; }

    /// <summary>The median time from the start of the release to the rollback, of the rollouts rolled back.</summary>
    public TimeSpan? MedianToRollback { get; init; }

    /// <summary>The median time to promotion, of the rollouts promoted.</summary>
    public TimeSpan? MedianToPromotion { get; init; }

    /// <summary>Requests the canary served until the rollback or promotion, and of them failed: means per rollout.</summary>
    public double CanaryRequests { get; init; }

    public double CanaryErrors { get; init; }

    /// <summary>The failed requests users saw on the canary before it was rolled back: the mean over the rollouts rolled back.</summary>
    public double? ErrorsBeforeRollback { get; init; }
}

/// <summary>
/// A seeded study: every scenario × rollout is one stream of traffic; every rule runs that same
/// stream (the same seed), so the rules differ only in what they decide. Rollouts run on all cores,
/// and the result does not depend on their order.
/// </summary>
internal static class Study
{
    public static async Task<IReadOnlyList<RuleSummary>> RunAsync(StudyPlan plan, TemplateLibrary templates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var settings = plan.Settings;
        var simulators = settings.Rules.Select(r => new RolloutSimulator(r, SimulationRules.Resource(r, settings, templates), settings)).ToList();
        simulators.ForEach(s => s.Check());
        var runs = new RolloutRun[plan.Scenarios.Count, settings.Rules.Count, settings.Rollouts];
        var work = Enumerable.Range(0, plan.Scenarios.Count).SelectMany(s => Enumerable.Range(0, settings.Rollouts).Select(r => (Scenario: s, Rollout: r)));
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(work, options, async (item, ct) =>
        {
            var seed = StreamRandom.Mix(settings.Seed, (ulong)item.Scenario, (ulong)item.Rollout);
            for (var rule = 0; rule < simulators.Count; rule++)
            {
                runs[item.Scenario, rule, item.Rollout] = await simulators[rule].RunAsync(plan.Scenarios[item.Scenario], seed, ct);
            }
        });

        var summaries = new List<RuleSummary>();
        for (var s = 0; s < plan.Scenarios.Count; s++)
        {
            for (var rule = 0; rule < simulators.Count; rule++)
            {
                var all = Enumerable.Range(0, settings.Rollouts).Select(r => runs[s, rule, r]).ToList();
                summaries.Add(Summarise(plan.Scenarios[s], settings.Rules[rule], all));
            }
        }

        return summaries;
    }

    private static RuleSummary Summarise(Scenario scenario, string rule, List<RolloutRun> runs)
    {
        var rolledBack = runs.Where(r => r.RolledBack).ToList();
        var promoted = runs.Where(r => r.Promoted).ToList();
        return new RuleSummary(scenario.Name, scenario.Bad, rule, runs.Count, rolledBack.Count, promoted.Count)
        {
            Interval = Wilson(rolledBack.Count, runs.Count),
            MedianToRollback = Median(rolledBack),
            MedianToPromotion = Median(promoted),
            CanaryRequests = runs.Average(r => (double)r.CanaryRequests),
            CanaryErrors = runs.Average(r => (double)r.CanaryErrors),
            ErrorsBeforeRollback = rolledBack.Count == 0 ? null : rolledBack.Average(r => (double)r.CanaryErrors),
        };
    }

    private static TimeSpan? Median(List<RolloutRun> runs)
    {
        if (runs.Count == 0)
        {
            return null;
        }

        var sorted = runs.Select(r => r.Took).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The 95 % Wilson score interval of k successes in n trials (Wilson 1927, J. Am. Stat. Assoc. 22:209).</summary>
    internal static (double Low, double High) Wilson(int k, int n)
    {
        const double z = 1.959963984540054;
        var p = k / (double)n;
        var centre = (p + (z * z / (2 * n))) / (1 + (z * z / n));
        var half = z / (1 + (z * z / n)) * Math.Sqrt((p * (1 - p) / n) + (z * z / (4.0 * n * n)));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
