using Canary.Analyzer.Documents;
using Canary.Analyzer.Reports;

namespace Canary.Analyzer.Cli;

/// <summary>`canary report`: the weekly reliability report of a week (default: the last complete one) from the store.</summary>
internal static class ReportCommand
{
    public const string Usage = """
        usage: canary report [--week 2026-W47] [--store sqlite:PATH | postgres:CONNECTION] [--output DIR] [--time-zone Europe/Berlin]
          Writes DIR/report.html (self-contained: charts embedded), DIR/report.json (the same numbers) and the charts
          as PNG files. --week is an ISO week (default: the last complete week in the time zone, default UTC);
          --store as for canary serve (default Canary:Store, else sqlite:canary.db); --output default: report-WEEK.
        Exit status: 0 written, 2 bad usage, 3 the store cannot be read (nothing is written).
        """;

    private static readonly HashSet<string> Flags = ["--help"];
    private static readonly HashSet<string> ValueOptions = ["--week", "--store", "--output", "--time-zone"];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, TextWriter stderr, TimeProvider time, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("report", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var zone = Zone(line.Option("--time-zone") ?? "UTC", "--time-zone");
        ReportWeek week;
        try
        {
            week = line.Option("--week") is { } text ? ReportWeek.Parse(text, zone) : ReportWeek.LastComplete(time.GetUtcNow(), zone);
        }
        catch (FormatException e)
        {
            throw new InputException($"--week: {e.Message}");
        }

        var settings = Settings.Load();
        var location = line.Option("--store") ?? settings["Canary:Store"] ?? "sqlite:canary.db";
        if (location.StartsWith("sqlite:", StringComparison.Ordinal) && !File.Exists(location["sqlite:".Length..]))
        {
            // Opening would create an empty database: say that there is none instead.
            await stderr.WriteLineAsync($"canary report: the store cannot be read: {location["sqlite:".Length..]}: no such file; nothing was written");
            return ExitCodes.ExternalFailed;
        }

        var (store, _) = Settings.Store(settings, location);
        await using (store)
        {
            ReportOutput output;
            try
            {
                // An empty, foreign or corrupt file is named as such (exit 3), not taken for an old store.
                await ((store as Storage.SqliteAnalysisStore)?.CheckAsync(cancellationToken) ?? Task.CompletedTask);
            }
            catch (Storage.StoreException e)
            {
                await stderr.WriteLineAsync($"canary report: {e.Message}; nothing was written");
                return ExitCodes.ExternalFailed;
            }

            try
            {
                output = await ReportOutput.BuildAsync(store, week, time.GetUtcNow(), cancellationToken);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
            {
                // A store made by an older canary lacks the columns reports read: canary serve migrates it at its start.
                var older = e.Message.Contains("no such", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("does not exist", StringComparison.OrdinalIgnoreCase);
                await stderr.WriteLineAsync($"canary report: the store cannot be read ({Storage.StoreLocation.Redact(location)}): {e.Message}; nothing was written"
                    + (older ? " (a store of an older canary: start canary serve once on it to migrate it)" : string.Empty));
                return ExitCodes.ExternalFailed;
            }

            var folder = Path.GetFullPath(line.Option("--output") ?? $"report-{week.Label}");
            await output.WriteAsync(folder, cancellationToken);
            await stdout.WriteLineAsync($"report of {week.Label}: {Path.Combine(folder, "report.html")}, report.json and {output.Charts.Count} charts");
        }

        return ExitCodes.Done;
    }

    /// <summary>A time zone by IANA id (Europe/Berlin) or UTC; bad input names the setting.</summary>
    public static TimeZoneInfo Zone(string id, string setting)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new InputException($"{setting}: \"{id}\" is not a time zone such as UTC or Europe/Berlin");
        }
    }
}
