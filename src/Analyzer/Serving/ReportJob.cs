using Canary.Analyzer.Reports;
using Canary.Analyzer.Storage;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Canary.Analyzer.Serving;

/// <summary>
/// Makes the weekly report of the last complete week (in Canary:Reports:TimeZone) and keeps it in
/// the store, on the cron schedule Canary:Reports:Cron (default every Monday 06:00).
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class ReportJob(IAnalysisStore store, TimeProvider time, ILogger<ReportJob> log) : IJob
{
    public const string ZoneKey = "zone";

    /// <summary>Quartz's cron for Monday 06:00 (seconds minutes hours day-of-month month day-of-week).</summary>
    public const string DefaultCron = "0 0 6 ? * MON";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var zone = TimeZoneInfo.FindSystemTimeZoneById(context.MergedJobDataMap.GetString(ZoneKey) ?? "UTC");
        var now = time.GetUtcNow();
        var week = ReportWeek.LastComplete(now, zone);
        try
        {
            var output = await ReportOutput.BuildAsync(store, week, now, cancellationToken);
            await store.SaveReportAsync(new StoredReport(week.Label, now, output.Json, output.Html), cancellationToken);
            Made(log, week.Label);
        }
        catch (System.Data.Common.DbException e)
        {
            // The next run (or a restart) tries again; nothing half-made is kept.
            Failed(log, week.Label, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "weekly report {Week} made and kept")]
    private static partial void Made(ILogger logger, string week);

    [LoggerMessage(Level = LogLevel.Error, Message = "weekly report {Week} could not be made: the store cannot be read: {Error}")]
    private static partial void Failed(ILogger logger, string week, string error);
}
