using Canary.Analyzer.Rollouts;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Canary.Analyzer.Serving;

/// <summary>
/// One Quartz job per active rollout, fired at its interval, in serve and in local mode alike; never
/// two ticks of a rollout at once. A tick that fails is logged and counted; the next one decides
/// again from the stored state.
/// </summary>
[DisallowConcurrentExecution]
internal sealed partial class RolloutJob(IRolloutSource source, RolloutController controller, ICommandInbox inbox, IRolloutReporter reporter, TimeProvider time, ILogger<RolloutJob> log) : IJob
{
    public const string RolloutKey = "rollout";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = context.MergedJobDataMap.GetString(RolloutKey) ?? string.Empty;
        var started = time.GetTimestamp();
        try
        {
            if (await source.CurrentAsync(key, cancellationToken) is not { } resource)
            {
                return;
            }

            var tick = await TickAsync(resource, cancellationToken);
            RolloutMetrics.Record(key, tick, time.GetElapsedTime(started));
        }
#pragma warning disable CA1031 // A failed tick must not stop the scheduler: it is logged and counted, and the next tick decides again.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            RolloutMetrics.Failed(key);
            TickFailed(log, key, e.GetType().Name, e.Message);
        }
    }

    /// <summary>
    /// One tick of a Canary: take its commands (with their id), tick, clear the commands once the tick
    /// that carried them out is stored, then report it (in a cluster: the status and events).
    /// </summary>
    /// <exception cref="Documents.ExternalFaultException">The inbox or the reporter failed (Kubernetes, in a cluster); what was stored stays, and the next tick goes on from it.</exception>
    public async Task<TickResult> TickAsync(CanaryResource resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var commands = await inbox.TakeAsync(resource.Namespace, resource.Name, cancellationToken);
        var tick = await controller.TickAsync(resource, commands, cancellationToken);
        if (tick.CommandsSettled)
        {
            // Only now, with the tick stored: a crash before this line leaves the commands in place, and the stored id keeps them from running twice.
            try
            {
                await inbox.ClearAsync(resource.Namespace, resource.Name, commands, cancellationToken);
            }
            catch (Documents.ExternalFaultException e)
            {
                // The tick is stored and applied: it is still reported; the next tick clears the commands without applying them again.
                ClearFailed(log, resource.Key, e.Message);
            }
        }

        await reporter.ReportAsync(resource, tick, cancellationToken);

        return tick;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: the commands carried out cannot be cleared from the Canary ({Error}); the next tick clears them without applying them again")]
    private static partial void ClearFailed(ILogger logger, string rollout, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "rollout {Rollout}: the tick failed ({Type}): {Error}; the next tick decides again")]
    private static partial void TickFailed(ILogger logger, string rollout, string type, string error);
}
