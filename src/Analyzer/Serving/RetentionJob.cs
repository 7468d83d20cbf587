using Canary.Analyzer.Storage;
using Quartz;

namespace Canary.Analyzer.Serving;

/// <summary>Prunes analyses and decisions older than the retention (Canary:Retention, default 90 days).</summary>
[DisallowConcurrentExecution]
internal sealed class RetentionJob(IAnalysisStore store, TimeProvider time) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var days = context.MergedJobDataMap.GetDouble("days");
        await store.PruneAsync(time.GetUtcNow() - TimeSpan.FromDays(days), cancellationToken);
    }
}
