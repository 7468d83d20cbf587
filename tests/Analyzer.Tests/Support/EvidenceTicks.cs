using System.Text.Json.Nodes;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Tests.Support;

/// <summary>Ticks of releases judged on sequential evidence, written as the controller writes them: a decision, and an analysis whose Judge output has a sequential block per metric.</summary>
internal sealed class EvidenceTicks(string key)
{
    private readonly List<TickRecord> ticks = [];

    public IReadOnlyList<TickRecord> Ticks => ticks;

    /// <summary>A tick with an analysis: errors (sequential) at this e-value and ratio bounds, and, if given, a sampled p99 with its classification.</summary>
    public void Analysis(DateTimeOffset at, string phase, int weight, string revision, double eValue, double ratio, double lower, double? upper, double seconds, string reason, string? p99 = null)
    {
        var metrics = new JsonArray(new JsonObject
        {
            ["name"] = "errors",
            ["classification"] = eValue >= 100 ? "High" : "Pass",
            ["reason"] = $"errors {ratio}× the baseline",
            ["sequential"] = new JsonObject { ["alpha"] = 0.01, ["evidence"] = new JsonArray(eValue), ["eValue"] = eValue, ["crossedAt"] = null, ["edge"] = null, ["estimate"] = ratio, ["lower"] = lower, ["upper"] = upper, ["seconds"] = seconds },
        });
        if (p99 is not null)
        {
            metrics.Add(new JsonObject { ["name"] = "p99", ["classification"] = p99, ["reason"] = $"p99: {p99}", ["effectSize"] = new JsonObject { ["meanRatio"] = 1.4 } });
        }

        var analysis = new AnalysisRecord(Guid.NewGuid(), key, at, eValue >= 100 ? "Crossed" : "Pass", 100, false, new JsonObject { ["reason"] = reason, ["metrics"] = metrics }.ToJsonString(), "{}");
        Decide(at, phase, weight, revision, reason, analysis);
    }

    public void Decide(DateTimeOffset at, string phase, int weight, string revision, string reason, AnalysisRecord? analysis = null)
    {
        var decision = new DecisionRecord(Guid.NewGuid(), key, at, phase, weight, "Hold", reason, "[]", analysis?.Id) { Revision = revision };
        var state = new RolloutState { Phase = Enum.Parse<RolloutPhase>(phase), CanaryWeight = weight, Revision = revision, ReleaseSince = Since(at, revision) };
        ticks.Add(new TickRecord(key, RolloutStates.Write(state), decision, analysis, null));
    }

    public async Task WriteAsync(IAnalysisStore store)
    {
        foreach (var tick in ticks)
        {
            await store.SaveTickAsync(tick, CancellationToken.None);
        }
    }

    private DateTimeOffset Since(DateTimeOffset at, string revision) =>
        ticks.FirstOrDefault(t => t.Decision.Revision == revision)?.Decision.At ?? at;
}
