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
internal sealed partial class ReportJob(IAnalysisStore store, TimeProvider time, ILogger<ReportJob> log) : IJob
{
    public const string ZoneKey = "zone";

    /// <summary>Quartz's cron for Monday 06:00 (seconds minutes hours day-of-month month day-of-week).</summary>
    public const string DefaultCron = "0 0 6 ? * MON";

    /// <summary>How many earlier weeks a run makes when their report is missing (canary was down on a Monday).</summary>
    public const int CatchUpWeeks = 4;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var zone = TimeZoneInfo.FindSystemTimeZoneById(context.MergedJobDataMap.GetString(ZoneKey) ?? "UTC");
        var now = time.GetUtcNow();
        var last = ReportWeek.LastComplete(now, zone);
        for (var back = CatchUpWeeks; back >= 0; back--)
        {
            var week = last.Previous(back);
            try
            {
                // The last complete week is always made (again); earlier ones only when missing.
                if (back > 0 && await store.GetReportAsync(week.Label, cancellationToken) is not null)
                {
                    continue;
                }

                var output = await ReportOutput.BuildAsync(store, week, now, cancellationToken);
                await store.SaveReportAsync(new StoredReport(week.Label, now, output.Json, output.Html), cancellationToken);
                Made(log, week.Label);
            }
#pragma warning disable CA1031 // A report that cannot be made is logged; the next run (and its catch-up) tries again.
            catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
            {
                Failed(log, week.Label, $"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "weekly report {Week} made and kept")]
    private static partial void Made(ILogger logger, string week);

    [LoggerMessage(Level = LogLevel.Error, Message = "weekly report {Week} could not be made: {Error}")]
    private static partial void Failed(ILogger logger, string week, string error);
}
