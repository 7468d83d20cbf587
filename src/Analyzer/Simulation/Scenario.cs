namespace Canary.Analyzer.Simulation;

/// <summary>How a scenario's request rate moves over time.</summary>
internal enum TrafficShape
{
    /// <summary>The same rate all the time (Poisson arrivals).</summary>
    Flat,

    /// <summary>A day's swing: the rate times 1 + amplitude × sin, each rollout starting at a random time of day.</summary>
    Diurnal,

    /// <summary>The rate of each scrape interval drawn from a gamma distribution around the mean (overdispersed arrivals), shared by both cohorts.</summary>
    Bursty,
}

/// <summary>A time in the release when both cohorts fail more (a dependency's outage): not the canary's fault.</summary>
internal sealed record ErrorBurst(TimeSpan At, TimeSpan For, double Errors);

/// <summary>One traffic situation and one canary: the baseline's behaviour and how the canary differs.</summary>
internal sealed record Scenario
{
    public required string Name { get; init; }

    /// <summary>Requests per second to the service (both cohorts together).</summary>
    public double Requests { get; init; } = 50;

    public TrafficShape Traffic { get; init; } = TrafficShape.Flat;

    /// <summary>Diurnal: the swing around the mean rate (0.6: from 40 % to 160 % of it).</summary>
    public double Amplitude { get; init; } = 0.6;

    /// <summary>Bursty: the coefficient of variation of each scrape interval's rate.</summary>
    public double Burstiness { get; init; } = 0.5;

    /// <summary>The share of the baseline's requests that fail.</summary>
    public double Errors { get; init; } = 0.005;

    /// <summary>The baseline's median request duration (seconds) and the log-normal's σ.</summary>
    public double LatencyMedian { get; init; } = 0.1;

    public double LatencySigma { get; init; } = 0.5;

    /// <summary>The canary's share of failed requests over the baseline's (2: twice as many).</summary>
    public double CanaryErrors { get; init; } = 1;

    /// <summary>The canary's request durations over the baseline's (1.2: every request 20 % slower).</summary>
    public double CanaryLatency { get; init; } = 1;

    public ErrorBurst? Burst { get; init; }

    /// <summary>A canary that is worse than the baseline: promoting it is the error, rolling it back is right.</summary>
    public bool Bad => CanaryErrors > 1 || CanaryLatency > 1;
}

/// <summary>The rollout settings every rule runs with, as a Canary's spec.analysis says them, plus the simulation's own.</summary>
internal sealed record StudySettings
{
    public int Rollouts { get; init; } = 200;

    public ulong Seed { get; init; } = 1;

    public IReadOnlyList<string> Rules { get; init; } = [SimulationRules.MannWhitney, SimulationRules.Threshold, SimulationRules.Sequential];

    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The sampled metrics' step (one Mann–Whitney sample per step); the sequential metrics count one interval per tick.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan WarmUp { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan MaxNoEvidence { get; init; } = TimeSpan.FromMinutes(10);

    public int Threshold { get; init; } = 5;

    public int MinSamples { get; init; } = 10;

    public IReadOnlyList<int> StepWeights { get; init; } = [5, 10, 25, 50];

    public double ConfidenceLevel { get; init; } = 0.99;

    /// <summary>The threshold rule's limits (Flagger's request-success-rate and request-duration checks).</summary>
    public double ErrorLimit { get; init; } = 0.01;

    public double LatencyLimit { get; init; } = 0.5;

    /// <summary>How often Prometheus scrapes both cohorts.</summary>
    public TimeSpan Scrape { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A rollout still undecided after this long is counted as undecided.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(2);
}

/// <summary>A study: its settings and its scenarios.</summary>
internal sealed record StudyPlan(StudySettings Settings, IReadOnlyList<Scenario> Scenarios);
