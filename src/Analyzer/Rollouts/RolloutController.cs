using Canary.Analyzer.Documents;
using Canary.Analyzer.Kubernetes;
using System.Text.Json;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Rollouts;

/// <summary>What one tick did: the decision, the analysis it ran (if any), and actions that failed (the next tick repairs them).</summary>
internal sealed record TickResult(Decision Decision, RolloutAnalysis? Analysis, IReadOnlyList<string> ActionErrors, bool Skipped = false)
{
    /// <summary>How long the analysis took (zero when none ran).</summary>
    public TimeSpan AnalysisDuration { get; init; }

    /// <summary>The stored analysis's id, for logs and the API.</summary>
    public Guid? AnalysisId { get; init; }

    /// <summary>The phase before this tick, as stored.</summary>
    public RolloutPhase PreviousPhase { get; init; }

    /// <summary>The commands this tick was given, as taken from their source.</summary>
    public PendingCommands Commands { get; init; } = PendingCommands.None;

    /// <summary>Every one of <see cref="Commands"/> is carried out by a stored tick (this one or an earlier one): the source may clear them now.</summary>
    public bool CommandsSettled { get; init; }

    /// <summary>The commands this tick carried out (those of <see cref="Commands"/> no stored tick had applied).</summary>
    public IReadOnlyList<RolloutCommand> Applied { get; init; } = [];
}

/// <summary>
/// The imperative shell around <see cref="RolloutStateMachine"/> (DESIGN: "Flow of one rollout
/// tick"): load the state, observe the workloads, do what the state machine's plan asks (call the
/// rollout webhook, analyse, ask the gates), decide, persist state + decision + analysis + the
/// command ids applied in one transaction, then apply the actions. A fault in Kubernetes,
/// Prometheus or a webhook never promotes: it becomes no evidence, or a failed action that the next
/// tick repairs. The caller clears the commands from their source only after the tick is stored.
/// </summary>
internal sealed partial class RolloutController(
    IAnalysisStore store,
    IWorkloadController workloads,
    RouterRegistry routers,
    RolloutAnalyzer analyzer,
    Webhooks webhooks,
    TimeProvider time,
    ILogger<RolloutController> log)
{
    private static readonly JsonSerializerOptions ActionJson = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>Resolves a Canary's configRef to a canary config (a ConfigMap in a cluster); InputException says why it cannot.</summary>
    public Func<CanaryResource, CancellationToken, Task<CanaryConfig>>? ResolveConfig { get; init; }

    /// <summary>A tick with commands that carry no id (tests, and callers that keep no source to clear).</summary>
    public Task<TickResult> TickAsync(CanaryResource resource, IReadOnlyCollection<RolloutCommand> commands, CancellationToken cancellationToken) =>
        TickAsync(resource, new PendingCommands(null, string.Join(',', commands ?? [])), cancellationToken);

    public async Task<TickResult> TickAsync(CanaryResource resource, PendingCommands pending, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(pending);
        var stored = await store.GetRolloutAsync(resource.Key, cancellationToken);
        var state = stored?.ReadState() ?? new RolloutState();
        var remembered = stored?.AppliedCommands ?? [];
        var spec = resource.Rollout;
        // While suspended nothing changes: commands wait on their source, untaken, until spec.suspend is false.
        IReadOnlyList<RolloutCommand> commands = spec.Suspend ? [] : pending.After(pending.Id is null ? null : remembered.FirstOrDefault(a => a.Id == pending.Id)?.Text);
        var target = new WorkloadTarget(resource.Namespace, resource.Target) { ProgressDeadline = spec.ProgressDeadline, Port = resource.Routes.Port };
        var now = time.GetUtcNow();
        var plan = RolloutStateMachine.Plan(spec, state, now, commands);

        WorkloadStatus? status = null;
        string? fault = null;
        try
        {
            status = await workloads.StatusAsync(target, cancellationToken);
        }
        catch (Exception e) when (e is ExternalFaultException or InputException)
        {
            // No reading of the target (or, for local workloads, of the process file or HAProxy): the state machine holds (no revision, nothing ready).
            WorkloadsUnreadable(log, resource.Key, e.Message);
            fault = $"the workloads could not be read: {e.Message}";
        }

        if (status is not null && state.Phase is RolloutPhase.Progressing or RolloutPhase.WaitingPromotion or RolloutPhase.Promoting)
        {
            await CompareRouterAsync(resource, state, cancellationToken);
        }

        RolloutAnalysis? analysis = null;
        var analysisDuration = TimeSpan.Zero;
        if (status is not null)
        {
            foreach (var kind in plan.WebhooksBefore)
            {
                await CallWebhookAsync(resource, kind, state, cancellationToken);
            }

            if (plan.Analyse)
            {
                var started = time.GetTimestamp();
                analysis = await AnalyzeAsync(resource, status.Revision, state, cancellationToken);
                analysisDuration = time.GetElapsedTime(started);
            }
        }

        var observation = new Observation
        {
            Now = now,
            TargetRevision = status?.Revision,
            Canary = status?.Canary ?? WorkloadReadiness.Unknown,
            PrimaryRevision = status?.PrimaryRevision,
            Primary = status?.Primary ?? WorkloadReadiness.Unknown,
            Analysis = analysis?.Outcome,
            Commands = commands,
            PromotionGateOpen = plan.AskPromotionGate ? await webhooks.GateAsync(resource, "confirm-promotion", state, cancellationToken) : null,
            TrafficGateOpen = plan.AskTrafficGate ? await webhooks.GateAsync(resource, "confirm-traffic-increase", state, cancellationToken) : null,
        };
        var decision = RolloutStateMachine.Decide(spec, state, observation);

        var analysisRecord = analysis is null ? null : new AnalysisRecord(
            Guid.NewGuid(), resource.Key, now, analysis.Outcome.Verdict.ToString(), analysis.Outcome.Score, analysis.Outcome.Verdict == AnalysisVerdict.Inconclusive, analysis.ResultJson, analysis.QueriesJson);
        var decisionRecord = new DecisionRecord(
            Guid.NewGuid(), resource.Key, now, decision.State.Phase.ToString(), decision.State.CanaryWeight, decision.Verdict.ToString(), decision.Reason,
            JsonSerializer.Serialize(decision.Actions.Select(Describe), ActionJson), analysisRecord?.Id)
        {
            Revision = decision.State.Revision,
            Commands = commands.Count == 0 ? null : string.Join(',', commands.Select(c => c.ToString().ToLowerInvariant())),
            CommandId = commands.Count == 0 ? null : pending.Id,
            Fault = fault,
            Warnings = analysis is { Warnings.Count: > 0 } ? string.Join('\n', analysis.Warnings) : null,
        };
        var result = new TickResult(decision, analysis, []) { PreviousPhase = state.Phase, Commands = pending, Applied = commands };
        try
        {
            // The decision is durable before anything acts on it; actions are idempotent, so a crash after this line is repaired by the next tick.
            // The command id is stored with it: a command is applied by one stored tick, whatever happens before its source is cleared.
            await store.SaveTickAsync(new TickRecord(resource.Key, RolloutStates.Write(decision.State), decisionRecord, analysisRecord, stored?.Version)
            {
                AppliedCommands = commands.Count == 0 ? null : pending.Remember(remembered),
            }, cancellationToken);
        }
        catch (StaleRolloutException e)
        {
            TickSkipped(log, resource.Key, e.Message);
            return result with { Skipped = true, Applied = [] };
        }

        Decided(log, resource.Key, decision.State.Phase, decision.State.CanaryWeight, decision.Verdict, decision.Reason, analysisRecord?.Id);
        var errors = new List<string>();
        foreach (var action in decision.Actions)
        {
            try
            {
                await ApplyAsync(resource, target, decision.State, action, cancellationToken);
            }
            catch (Exception e) when (e is ExternalFaultException or HttpRequestException or InputException)
            {
                errors.Add($"{Describe(action)}: {e.Message}");
                ActionFailed(log, resource.Key, errors[^1]);
            }
        }

        return result with { ActionErrors = errors, AnalysisDuration = analysisDuration, AnalysisId = analysisRecord?.Id, CommandsSettled = pending.Text.Length > 0 && !spec.Suspend };
    }

    /// <summary>
    /// Reads the weight the router reports and says when it is not the rollout's (someone edited it,
    /// or canary stopped between deciding and applying): the stored decision wins, and this tick's
    /// routing action puts it back.
    /// </summary>
    private async Task CompareRouterAsync(CanaryResource resource, RolloutState state, CancellationToken cancellationToken)
    {
        try
        {
            var reported = await routers.Get(resource.Router).GetRoutingAsync(resource.Routes, cancellationToken);
            var expected = RolloutStateMachine.ExpectedWeight(resource.Rollout, state);
            if (reported.CanaryWeight != expected)
            {
                RouterDrift(log, resource.Key, reported.CanaryWeight, expected);
            }
        }
        catch (ExternalFaultException e)
        {
            RouterUnreadable(log, resource.Key, e.Message);
        }
    }

    /// <summary>The cohorts' label matchers: the resource's, or the router's defaults for the revision under release (docs/rollouts.md).</summary>
    public Cohorts CohortsOf(CanaryResource resource, string revision)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource.Cohorts is { } cohorts)
        {
            return cohorts;
        }

        var labels = routers.Get(resource.Router).DefaultCohorts(resource.Target, revision);
        return new Cohorts(PromQl.Matcher(labels.Label, labels.Primary, labels.Regex), PromQl.Matcher(labels.Label, labels.Canary, labels.Regex));
    }

    private async Task<RolloutAnalysis?> AnalyzeAsync(CanaryResource resource, string revision, RolloutState state, CancellationToken cancellationToken)
    {
        var config = resource.Config;
        if (config is null)
        {
            try
            {
                config = ResolveConfig is null
                    ? throw new InputException($"the canary config \"{resource.ConfigRef}\" cannot be resolved here")
                    : await ResolveConfig(resource, cancellationToken);
            }
            catch (Exception e) when (e is InputException or ExternalFaultException)
            {
                var reason = e is InputException input ? string.Join("; ", input.Problems) : e.Message;
                return new RolloutAnalysis(new AnalysisOutcome(AnalysisVerdict.Inconclusive, null, reason), "{}", "{}");
            }
        }

        Cohorts cohorts;
        try
        {
            cohorts = CohortsOf(resource, revision);
        }
        catch (RoutingException e)
        {
            return new RolloutAnalysis(new AnalysisOutcome(AnalysisVerdict.Inconclusive, null, e.Message), "{}", "{}");
        }

        return await analyzer.AnalyzeAsync(resource, config, cohorts, time.GetUtcNow(), state, cancellationToken);
    }

    private async Task ApplyAsync(CanaryResource resource, WorkloadTarget target, RolloutState state, RolloutAction action, CancellationToken cancellationToken)
    {
        var router = routers.Get(resource.Router);
        switch (action)
        {
            case RolloutAction.InitializeWorkloads:
                await workloads.InitializeAsync(target, cancellationToken);
                break;
            case RolloutAction.ReconcileRouter:
                await router.ReconcileAsync(resource.Routes, cancellationToken);
                break;
            case RolloutAction.SetRouting set:
                await router.SetRoutingAsync(resource.Routes, set.Routing, cancellationToken);
                break;
            case RolloutAction.ScaleCanaryUp:
                await workloads.ScaleCanaryAsync(target, null, cancellationToken, wait: false);
                break;
            case RolloutAction.ScaleCanaryToZero:
                await workloads.ScaleCanaryToZeroAsync(target, cancellationToken);
                break;
            case RolloutAction.Promote promote:
                await workloads.PromoteAsync(target, promote.Revision, cancellationToken, wait: false);
                break;
            case RolloutAction.CallWebhook call:
                await CallWebhookAsync(resource, call.Kind, state, cancellationToken);
                break;
        }
    }

    private async Task CallWebhookAsync(CanaryResource resource, string kind, RolloutState state, CancellationToken cancellationToken)
    {
        foreach (var problem in await webhooks.CallAsync(resource, kind, state, cancellationToken))
        {
            WebhookFailed(log, resource.Key, problem);
        }
    }

    private static string Describe(RolloutAction action) => action switch
    {
        RolloutAction.SetRouting set => $"SetRouting {set.Routing.CanaryWeight}%{(set.Routing.Match is null ? string.Empty : $" + {set.Routing.Match}")}",
        RolloutAction.Promote promote => $"Promote {promote.Revision}",
        RolloutAction.CallWebhook call => $"CallWebhook {call.Kind}",
        _ => action.GetType().Name,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: cannot read the workloads: {Error}")]
    private static partial void WorkloadsUnreadable(ILogger logger, string rollout, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Rollout}: {Reason}; tick skipped")]
    private static partial void TickSkipped(ILogger logger, string rollout, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Rollout}: {Phase} at {Weight} %: {Verdict}: {Reason} (analysis {AnalysisId})")]
    private static partial void Decided(ILogger logger, string rollout, RolloutPhase phase, int weight, StepVerdict verdict, string reason, Guid? analysisId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: the router reports {Reported} % on the canary, the rollout is at {Stored} %; setting {Stored} %")]
    private static partial void RouterDrift(ILogger logger, string rollout, int reported, int stored);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: the router's weights cannot be read: {Error}")]
    private static partial void RouterUnreadable(ILogger logger, string rollout, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: action failed, the next tick repairs it: {Error}")]
    private static partial void ActionFailed(ILogger logger, string rollout, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: {Problem}")]
    private static partial void WebhookFailed(ILogger logger, string rollout, string problem);
}
