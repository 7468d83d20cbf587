using System.Text.Json;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Rollouts;

/// <summary>What one tick did: the decision, the analysis it ran (if any), and actions that failed (the next tick repairs them).</summary>
public sealed record TickResult(Decision Decision, RolloutAnalysis? Analysis, IReadOnlyList<string> ActionErrors, bool Skipped = false)
{
    /// <summary>How long the analysis took (zero when none ran).</summary>
    public TimeSpan AnalysisDuration { get; init; }

    /// <summary>The stored analysis's id, for logs and the API.</summary>
    public Guid? AnalysisId { get; init; }

    /// <summary>The phase before this tick, as stored.</summary>
    public RolloutPhase PreviousPhase { get; init; }
}

/// <summary>
/// The imperative shell around <see cref="RolloutStateMachine"/> (DESIGN: "Flow of one rollout
/// tick"): load the state, observe the workloads, run the analysis when due, ask the gates, decide,
/// persist state + decision + analysis in one transaction, then apply the actions. A fault in
/// Kubernetes, Prometheus or a webhook never promotes: it becomes no evidence, or a failed action
/// that the next tick repairs.
/// </summary>
public sealed partial class RolloutController(
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

    public async Task<TickResult> TickAsync(CanaryResource resource, IReadOnlyCollection<RolloutCommand> commands, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(commands);
        var stored = await store.GetRolloutAsync(resource.Key, cancellationToken);
        var state = stored?.State ?? new RolloutState();
        var spec = resource.Rollout;
        var target = new WorkloadTarget(resource.Namespace, resource.Target) { ProgressDeadline = spec.ProgressDeadline, Port = resource.Routes.Port };
        var now = time.GetUtcNow();

        WorkloadStatus? status = null;
        string? fault = null;
        try
        {
            status = await workloads.StatusAsync(target, cancellationToken);
        }
        catch (Exception e) when (e is KubernetesWriteException or RoutingException or WorkloadNotReadyException or Cli.InputException)
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
        if (status is not null && RolloutStateMachine.AnalysisDue(spec, state, now))
        {
            await webhooks.CallAsync(resource, "rollout", state, cancellationToken);
            var started = time.GetTimestamp();
            analysis = await AnalyzeAsync(resource, cancellationToken);
            analysisDuration = time.GetElapsedTime(started);
        }

        bool? promotionGate = null, trafficGate = null;
        if (state.Phase is RolloutPhase.Progressing or RolloutPhase.WaitingPromotion)
        {
            promotionGate = spec.ConfirmPromotion ? await webhooks.GateAsync(resource, "confirm-promotion", state, cancellationToken) : null;
            trafficGate = spec.ConfirmTrafficIncrease ? await webhooks.GateAsync(resource, "confirm-traffic-increase", state, cancellationToken) : null;
        }

        var observation = new Observation
        {
            Now = now,
            TargetRevision = status?.Revision,
            Canary = status is null ? Readiness.Unknown : Map(status.Canary),
            PrimaryRevision = status?.PrimaryRevision,
            Primary = status is null ? Readiness.Unknown : Map(status.Primary),
            Analysis = analysis?.Outcome,
            Commands = commands,
            PromotionGateOpen = promotionGate,
            TrafficGateOpen = trafficGate,
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
            Fault = fault,
        };
        try
        {
            // The decision is durable before anything acts on it; actions are idempotent, so a crash after this line is repaired by the next tick.
            await store.SaveTickAsync(new TickRecord(resource.Key, decision.State, decisionRecord, analysisRecord, stored?.Version), cancellationToken);
        }
        catch (StaleRolloutException e)
        {
            TickSkipped(log, resource.Key, e.Message);
            return new TickResult(decision, analysis, [], Skipped: true) { PreviousPhase = state.Phase };
        }

        Decided(log, resource.Key, decision.State.Phase, decision.State.CanaryWeight, decision.Verdict, decision.Reason, analysisRecord?.Id);
        var errors = new List<string>();
        foreach (var action in decision.Actions)
        {
            try
            {
                await ApplyAsync(resource, target, decision.State, action, cancellationToken);
            }
            catch (Exception e) when (e is KubernetesWriteException or RoutingException or WorkloadNotReadyException or RevisionChangedException or HttpRequestException or Cli.InputException)
            {
                errors.Add($"{Describe(action)}: {e.Message}");
                ActionFailed(log, resource.Key, errors[^1]);
            }
        }

        return new TickResult(decision, analysis, errors) { AnalysisDuration = analysisDuration, AnalysisId = analysisRecord?.Id, PreviousPhase = state.Phase };
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
            if (reported.CanaryWeight != state.CanaryWeight && !(resource.Rollout.DryRun && reported.CanaryWeight == 0))
            {
                RouterDrift(log, resource.Key, reported.CanaryWeight, state.CanaryWeight);
            }
        }
        catch (Exception e) when (e is KubernetesWriteException or RoutingException)
        {
            RouterUnreadable(log, resource.Key, e.Message);
        }
    }

    /// <summary>The cohorts' label matchers: the resource's, or by router (istio: destination_workload; nginx: service; else pod names).</summary>
    public static Cohorts CohortsOf(CanaryResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var name = resource.Target;
        return resource.Cohorts ?? resource.Router switch
        {
            "istio" => new Cohorts(PromQl.Matcher("destination_workload", $"{name}-primary"), PromQl.Matcher("destination_workload", name)),
            "nginx" => new Cohorts(PromQl.Matcher("service", name), PromQl.Matcher("service", $"{name}-canary")),
            _ => new Cohorts(PromQl.Matcher("pod", $"{name}-primary-.*", regex: true), PromQl.Matcher("pod", $"{name}-[a-z0-9]+-[a-z0-9]+", regex: true)),
        };
    }

    private async Task<RolloutAnalysis> AnalyzeAsync(CanaryResource resource, CancellationToken cancellationToken)
    {
        var config = resource.Config;
        if (config is null)
        {
            try
            {
                config = ResolveConfig is null
                    ? throw new Cli.InputException($"the canary config \"{resource.ConfigRef}\" cannot be resolved here")
                    : await ResolveConfig(resource, cancellationToken);
            }
            catch (Exception e) when (e is Cli.InputException or KubernetesWriteException)
            {
                var reason = e is Cli.InputException input ? string.Join("; ", input.Problems) : e.Message;
                return new RolloutAnalysis(new AnalysisOutcome(AnalysisVerdict.Inconclusive, null, reason), "{}", "{}");
            }
        }

        return await analyzer.AnalyzeAsync(resource, config, CohortsOf(resource), time.GetUtcNow(), cancellationToken);
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
                await router.SetRoutingAsync(resource.Routes, set.Routing with { Mirror = resource.Mirror && set.Routing.CanaryWeight == 0 && state.Phase == RolloutPhase.Progressing }, cancellationToken);
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
                foreach (var problem in await webhooks.CallAsync(resource, call.Kind, state, cancellationToken))
                {
                    WebhookFailed(log, resource.Key, problem);
                }

                break;
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

    private static Readiness Map(WorkloadReadiness readiness) => readiness switch
    {
        WorkloadReadiness.Ready => Readiness.Ready,
        WorkloadReadiness.Failed => Readiness.Failed,
        WorkloadReadiness.NotReady => Readiness.NotReady,
        _ => Readiness.Unknown,
    };
}
