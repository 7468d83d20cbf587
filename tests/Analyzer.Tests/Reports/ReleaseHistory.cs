using System.Globalization;
using System.Text.Json.Nodes;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Tests.Reports;

/// <summary>One release as the generator made it: the ground truth a report must find again.</summary>
public sealed record TruthRelease(
    string Service, string Revision, DateTimeOffset Started, DateTimeOffset? Decided, string Outcome, int? FailedAtWeight, double? ErrorRatio,
    IReadOnlyList<(string Metric, DateTimeOffset At)> Failures, DateTimeOffset? RecoveredAt, IReadOnlyList<(string Command, DateTimeOffset At)> Commands);

/// <summary>
/// A deterministic history of releases across services (seeded), written as the controller writes
/// ticks: decisions with phases, weights, revisions and commands, and analyses with Judge-shaped
/// results. Most releases are promoted in three steps; some roll back on the error rate at a step;
/// some are superseded by a newer revision; some need an approval or are aborted by hand; some
/// analyses lack evidence because Prometheus failed; service "shop/legacy" never has p99 data.
/// </summary>
internal sealed class ReleaseHistory
{
    public static readonly int[] Steps = [10, 25, 50];

    public List<TruthRelease> Releases { get; } = [];

    public List<(string Service, DateTimeOffset At)> PrometheusFaults { get; } = [];

    public List<(string Service, DateTimeOffset At)> KubernetesFaults { get; } = [];

    public List<TickRecord> Ticks { get; } = [];

    public static ReleaseHistory Generate(DateTimeOffset from, DateTimeOffset until, int services, int seed, double releasesPerServicePerDay = 0.6)
    {
        var history = new ReleaseHistory();
        var random = new Random(seed);
        for (var s = 0; s < services; s++)
        {
            var key = s == 0 ? "shop/legacy" : $"team{s % 4}/svc{s:000}";
            var at = from + TimeSpan.FromMinutes(random.Next(0, 600));
            var revision = 0;
            while (true)
            {
                at += TimeSpan.FromHours(random.NextDouble() * 48 / releasesPerServicePerDay);
                if (at >= until)
                {
                    break;
                }

                at = history.Release(key, $"r{s:000}x{++revision:0000}", at, until, random);
            }
        }

        return history;
    }

    public async Task WriteAsync(IAnalysisStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var tick in Ticks)
        {
            await store.SaveTickAsync(tick, CancellationToken.None);
        }
    }

    /// <summary>One release from start; returns when the service is free again.</summary>
    private DateTimeOffset Release(string key, string revision, DateTimeOffset start, DateTimeOffset until, Random random)
    {
        var roll = random.NextDouble();
        var outcome = roll < 0.65 ? "promoted" : roll < 0.85 ? "rolled back" : roll < 0.93 ? "superseded" : "promoted-approved";
        var noisy = outcome == "promoted" && key != "shop/legacy" && random.NextDouble() < 0.3;
        var abortedByHand = outcome == "rolled back" && random.NextDouble() < 0.25;
        var failStep = random.Next(0, Steps.Length);
        var ratio = Math.Round(1.5 + (random.NextDouble() * 3), 3);
        var commands = new List<(string, DateTimeOffset)>();
        var failures = new List<(string, DateTimeOffset)>();
        DateTimeOffset? recovered = null;
        var t = start;
        var weight = 0;
        Decide(key, t, RolloutPhase.Progressing, 0, revision, $"new revision {revision}: starting the release");
        t += TimeSpan.FromMinutes(1 + random.Next(0, 3));
        DateTimeOffset? decided = null;
        int? failedAt = null;
        string final;
        for (var step = 0; ; step++)
        {
            if (t >= until)
            {
                final = "running";
                break;
            }

            if (step < Steps.Length)
            {
                weight = Steps[step];
                Decide(key, t, RolloutPhase.Progressing, weight, revision, $"canary weight → {weight} %");
            }

            if (outcome == "superseded" && step == 1)
            {
                // A newer revision arrives mid-release: this one ends, the new one starts now.
                final = "superseded";
                decided = t + TimeSpan.FromMinutes(1);
                Releases.Add(new TruthRelease(key, revision, start, decided, final, null, null, failures, recovered, commands));
                return Release(key, revision + "b", decided.Value, until, random);
            }

            t += TimeSpan.FromMinutes(1);
            if (random.NextDouble() < 0.05)
            {
                Analyse(key, t, null, prometheusDown: true);
                PrometheusFaults.Add((key, t));
                Decide(key, t, RolloutPhase.Progressing, weight, revision, "analysis inconclusive (no evidence, never a pass)");
                t += TimeSpan.FromMinutes(1);
            }

            if (random.NextDouble() < 0.03)
            {
                Decide(key, t, RolloutPhase.Progressing, weight, revision, "waiting for the canary to be ready", fault: "the workloads could not be read: 503");
                KubernetesFaults.Add((key, t));
                t += TimeSpan.FromMinutes(1);
            }

            if (outcome == "rolled back" && step == failStep)
            {
                if (abortedByHand)
                {
                    Analyse(key, t - TimeSpan.FromSeconds(30), ("error rate", ratio, "High"));
                    failures.Add(("error rate", t - TimeSpan.FromSeconds(30)));
                    Decide(key, t, RolloutPhase.Failed, 0, revision, "rolled back: aborted by hand", "abort");
                    commands.Add(("abort", t));
                }
                else
                {
                    Analyse(key, t, ("error rate", ratio, "High"));
                    failures.Add(("error rate", t));
                    Decide(key, t, RolloutPhase.Progressing, weight, revision, "analysis failed: 1 of 2 failed checks");
                    t += TimeSpan.FromMinutes(1);
                    Analyse(key, t, ("error rate", ratio, "High"));
                    failures.Add(("error rate", t));
                    Decide(key, t, RolloutPhase.Failed, 0, revision, "rolled back: analysis failed: 2 of 2 failed checks");
                }

                (final, decided, failedAt) = ("rolled back", t, weight);
                break;
            }

            if (noisy && step == 1)
            {
                Analyse(key, t, ("p99 latency", 1.3, "High"));
                failures.Add(("p99 latency", t));
                Decide(key, t, RolloutPhase.Progressing, weight, revision, "analysis marginal; holding");
                t += TimeSpan.FromMinutes(1);
                recovered = t;
            }

            Analyse(key, t, null);
            if (step == Steps.Length - 1)
            {
                var approved = outcome == "promoted-approved";
                if (approved)
                {
                    Decide(key, t, RolloutPhase.WaitingPromotion, weight, revision, "waiting for the confirm-promotion gate (or an approval)");
                    t += TimeSpan.FromMinutes(5 + random.Next(0, 30));
                    Decide(key, t, RolloutPhase.Promoting, weight, revision, "approved: promoting", "approve");
                    commands.Add(("approve", t));
                }
                else
                {
                    Decide(key, t, RolloutPhase.Promoting, weight, revision, "analysis passed at the last step: promoting");
                }

                t += TimeSpan.FromMinutes(1);
                Decide(key, t, RolloutPhase.Finalising, 0, revision, "the primary runs the revision");
                t += TimeSpan.FromMinutes(1);
                if (t >= until)
                {
                    final = "running";
                    break;
                }

                Decide(key, t, RolloutPhase.Succeeded, 0, revision, "release succeeded");
                (final, decided) = ("promoted", t);
                break;
            }

            t += TimeSpan.FromMinutes(1);
        }

        Releases.Add(new TruthRelease(key, revision, start, decided, final, failedAt, final == "rolled back" ? ratio : null, failures, recovered, commands));

        // Idle ticks after the end, which no report may take for a release.
        if (decided is { } end)
        {
            Decide(key, end + TimeSpan.FromMinutes(1), final == "promoted" ? RolloutPhase.Succeeded : RolloutPhase.Failed, 0, revision, "idle");
            return end + TimeSpan.FromMinutes(2);
        }

        return until;
    }

    private AnalysisRecord? pending;

    /// <summary>A tick's decision, stored with the analysis made just before it (as the controller stores them together).</summary>
    private void Decide(string key, DateTimeOffset at, RolloutPhase phase, int weight, string revision, string reason, string? command = null, string? fault = null)
    {
        var decision = new DecisionRecord(Guid.NewGuid(), key, at, phase.ToString(), weight, "Hold", reason, "[]", pending?.Id) { Revision = revision, Commands = command, Fault = fault };
        Ticks.Add(new TickRecord(key, RolloutStates.Write(new RolloutState { Phase = phase, CanaryWeight = weight, Revision = revision }), decision, pending, null));
        pending = null;
    }

    /// <summary>An analysis: every metric passes but the failing one given; p99 has no data for the legacy service; or no evidence at all.</summary>
    private void Analyse(string key, DateTimeOffset at, (string Metric, double Ratio, string Classification)? failing, bool prometheusDown = false)
    {
        string result;
        if (prometheusDown)
        {
            result = new JsonObject { ["inconclusive"] = true, ["reason"] = "the metrics source failed: Prometheus at http://prometheus:9090 answered 503" }.ToJsonString();
        }
        else
        {
            JsonObject Metric(string name)
            {
                var (classification, ratio) = failing is { } f && f.Metric == name ? (f.Classification, f.Ratio)
                    : name == "p99 latency" && key == "shop/legacy" ? ("NoData", double.NaN) : ("Pass", 1.01);
                return new JsonObject
                {
                    ["name"] = name,
                    ["classification"] = classification,
                    ["reason"] = $"{name}: {classification}",
                    ["effectSize"] = new JsonObject { ["meanRatio"] = double.IsNaN(ratio) ? null : ratio },
                };
            }

            result = new JsonObject
            {
                ["classification"] = failing is null ? "Pass" : "Fail",
                ["score"] = failing is null ? 100 : 40,
                ["metrics"] = new JsonArray(Metric("error rate"), Metric("p99 latency")),
            }.ToJsonString();
        }

        pending = new AnalysisRecord(Guid.NewGuid(), key, at, prometheusDown ? "Inconclusive" : failing is null ? "Pass" : "Fail", prometheusDown ? null : failing is null ? 100 : 40, prometheusDown, result, "{}");
    }

    public static string Week(DateTimeOffset at) => string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(at.UtcDateTime)}-W{ISOWeek.GetWeekOfYear(at.UtcDateTime):00}");
}
