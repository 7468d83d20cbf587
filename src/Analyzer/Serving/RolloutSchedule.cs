using Canary.Analyzer.Rollouts;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Canary.Analyzer.Serving;

/// <summary>The one scheduler of rollouts, in serve and in local mode: one Quartz job per rollout, keyed by namespace/name, fired at its interval.</summary>
internal sealed partial class RolloutSchedule(ISchedulerFactory schedulers, TimeProvider time, ILogger<RolloutSchedule> log)
{
    /// <summary>Schedules the rollout's job when it is new, its interval changed, or its trigger is gone.</summary>
    public async Task ScheduleAsync(CanaryResource resource, CanaryResource? previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var key = resource.Key;
        var scheduled = await scheduler.Exists(new TriggerKey(key), cancellationToken);
        if (previous is not null && previous.Interval == resource.Interval && scheduled)
        {
            return;
        }

        var job = JobBuilder.Create<RolloutJob>().WithIdentity(key).UsingJobData(RolloutJob.RolloutKey, key).StoreDurably().Build();
        // A new interval (possibly read by the rollout's own tick) starts one interval from now, not with an extra tick.
        var first = previous is not null && scheduled ? TriggerBuilder.Create().StartAt(time.GetUtcNow() + resource.Interval) : TriggerBuilder.Create().StartNow();
        var trigger = first.WithIdentity(key).ForJob(job)
            // A tick that could not run on time is skipped, not replayed: the next one sees the present.
            .WithSimpleSchedule(s => s.WithInterval(resource.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();
        await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, cancellationToken);
        Scheduled(log, key, resource.Interval);
    }

    /// <summary>Stops ticking a rollout whose Canary is not valid (its job stays, for when it is valid again).</summary>
    public async Task PauseAsync(string key, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        await scheduler.UnscheduleJob(new TriggerKey(key), cancellationToken);
    }

    /// <summary>Removes the rollout's job (its Canary is gone).</summary>
    public async Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        await scheduler.DeleteJob(new JobKey(key), cancellationToken);
    }

    /// <summary>Ticks the rollout now, instead of at its next interval (a command, a new revision).</summary>
    public async Task TriggerAsync(string key, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        if (await scheduler.Exists(new JobKey(key), cancellationToken))
        {
            await scheduler.TriggerJob(new JobKey(key), cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Rollout}: scheduled every {Interval}")]
    private static partial void Scheduled(ILogger logger, string rollout, TimeSpan interval);
}
