using System.Text.Json;
using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Reports;

/// <summary>A finished report: report.json, report.html (charts embedded) and the charts as PNG files.</summary>
internal sealed record ReportOutput(string Week, string Json, string Html, IReadOnlyList<(string File, string Title, byte[] Png)> Charts)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Builds the week's report from the store.</summary>
    /// <exception cref="System.Data.Common.DbException">The store cannot be read.</exception>
    public static async Task<ReportOutput> BuildAsync(IAnalysisStore store, ReportWeek week, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(week);
        var report = await WeeklyReport.BuildAsync(store, week, now, cancellationToken);
        var charts = ReportCharts.Render(report);
        report["charts"] = new JsonArray([.. charts.Select(c => (JsonNode)new JsonObject { ["file"] = c.File, ["title"] = c.Title })]);
        return new ReportOutput(week.Label, report.ToJsonString(Indented), ReportHtml.Render(report, charts), charts);
    }

    /// <summary>Writes every file into a new folder beside the output and then moves them in, so a failure leaves no partial report.</summary>
    public async Task WriteAsync(string folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var staging = Directory.CreateDirectory(Path.Combine(folder, $".report-{Guid.NewGuid():N}")).FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(staging, "report.json"), Json, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(staging, "report.html"), Html, cancellationToken);
            foreach (var (file, _, png) in Charts)
            {
                await File.WriteAllBytesAsync(Path.Combine(staging, file), png, cancellationToken);
            }

            foreach (var file in Directory.GetFiles(staging))
            {
                File.Move(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
            }
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}
