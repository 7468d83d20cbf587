using System.Globalization;
using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Reports;

/// <summary>An ISO 8601 week (2026-W47) in a time zone: Monday 00:00 to the next Monday 00:00 there.</summary>
internal sealed record ReportWeek(int Year, int Week, TimeZoneInfo Zone)
{
    public string Label => string.Create(CultureInfo.InvariantCulture, $"{Year}-W{Week:00}");

    public DateTimeOffset Start => Local(ISOWeek.ToDateTime(Year, Week, DayOfWeek.Monday));

    public DateTimeOffset End => Local(ISOWeek.ToDateTime(Year, Week, DayOfWeek.Monday).AddDays(7));

    /// <summary>Local midnight starting day 0 (Monday) to 7 (the next Monday) of the week.</summary>
    public DateTimeOffset Day(int day) => Local(ISOWeek.ToDateTime(Year, Week, DayOfWeek.Monday).AddDays(day));

    public ReportWeek Previous(int weeks = 1)
    {
        var monday = ISOWeek.ToDateTime(Year, Week, DayOfWeek.Monday).AddDays(-7 * weeks);
        return new ReportWeek(ISOWeek.GetYear(monday), ISOWeek.GetWeekOfYear(monday), Zone);
    }

    /// <summary>The last week that has ended at now, in the zone.</summary>
    public static ReportWeek LastComplete(DateTimeOffset now, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(now, zone).DateTime.AddDays(-7);
        return new ReportWeek(ISOWeek.GetYear(local), ISOWeek.GetWeekOfYear(local), zone);
    }

    /// <exception cref="FormatException">Not YYYY-Www with a week the year has.</exception>
    public static ReportWeek Parse(string text, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split("-W", 2);
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var year) && year is >= 2000 and <= 9998
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var week) && week >= 1 && week <= ISOWeek.GetWeeksInYear(year))
        {
            return new ReportWeek(year, week, zone);
        }

        throw new FormatException($"\"{text}\" is not an ISO week such as 2026-W47");
    }

    private DateTimeOffset Local(DateTime wall) => new(wall, Zone.GetUtcOffset(wall));
}

/// <summary>One metric of an analysis, as the report reads it from the Judge's output.</summary>
internal sealed record MetricOutcome(string Name, string Classification, double? MeanRatio, string Reason)
{
    /// <summary>A sequential metric's evidence after the analysis; null for a sampled metric.</summary>
    public MetricEvidence? Evidence { get; init; }

    public bool Sequential => Evidence is not null;
}

/// <summary>An analysis with its Judge output read once: the metrics and the overall reason.</summary>
internal sealed record ReadAnalysis(AnalysisRecord Record, IReadOnlyList<MetricOutcome> Metrics, string Reason)
{
    public string RolloutKey => Record.RolloutKey;

    public DateTimeOffset At => Record.At;

    public static ReadAnalysis Of(AnalysisRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        JsonNode? result;
        try
        {
            result = JsonNode.Parse(record.ResultJson);
        }
        catch (System.Text.Json.JsonException)
        {
            return new ReadAnalysis(record, [], string.Empty);
        }

        var metrics = (result?["metrics"] as JsonArray ?? []).OfType<JsonObject>().Select(metric => new MetricOutcome(
            metric["name"]?.GetValue<string>() ?? "?",
            metric["classification"]?.GetValue<string>() ?? "?",
            metric["effectSize"]?["meanRatio"] is JsonValue v && v.TryGetValue<double>(out var ratio) ? ratio : null,
            metric["reason"]?.GetValue<string>() ?? string.Empty) { Evidence = ReleaseEvidence.Read(metric["sequential"]) }).ToList();
        return new ReadAnalysis(record, metrics, result?["reason"] is JsonValue r && r.TryGetValue<string>(out var reason) ? reason : string.Empty);
    }
}

/// <summary>One release, reconstructed from a rollout's decisions: from the new revision to promotion or rollback.</summary>
internal sealed class Release(string key, string? revision, DateTimeOffset started)
{
    public const string Promoted = "promoted";
    public const string RolledBack = "rolled back";
    public const string Running = "running";
    public const string Superseded = "superseded";

    public string Key => key;

    public string? Revision { get; set; } = revision;

    public DateTimeOffset Started => started;

    public DateTimeOffset? Decided { get; set; }

    public string Outcome { get; set; } = Running;

    public string Reason { get; set; } = string.Empty;

    /// <summary>For a rollback: the canary's weight when it failed (the step).</summary>
    public int? FailedAtWeight { get; set; }

    public List<DecisionRecord> Decisions { get; } = [];

    public List<ReadAnalysis> Analyses { get; } = [];

    /// <summary>
    /// Releases from decisions sorted by rollout and time: one starts at a Progressing decision
    /// outside a release (or with another revision, which supersedes the one running) and ends at
    /// Succeeded (promoted) or Failed (rolled back); one that has not ended is running.
    /// </summary>
    public static List<Release> Reconstruct(IEnumerable<DecisionRecord> decisions)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        var releases = new List<Release>();
        Release? current = null;
        string? key = null;
        var weight = 0;
        foreach (var d in decisions)
        {
            if (d.RolloutKey != key)
            {
                (current, key, weight) = (null, d.RolloutKey, 0);
            }

            if (d.Phase == "Progressing" && (current is null || (d.Revision is not null && current.Revision is not null && d.Revision != current.Revision)))
            {
                if (current is not null)
                {
                    (current.Outcome, current.Decided, current.Reason) = (Superseded, d.At, d.Reason);
                }

                current = new Release(d.RolloutKey, d.Revision, d.At);
                releases.Add(current);
            }

            if (current is null)
            {
                continue;
            }

            current.Decisions.Add(d);
            current.Revision ??= d.Revision;
            if (d.Phase is "Succeeded" or "Failed")
            {
                (current.Outcome, current.Decided, current.Reason) = (d.Phase == "Succeeded" ? Promoted : RolledBack, d.At, d.Reason);
                if (d.Phase == "Failed")
                {
                    current.FailedAtWeight = weight;
                }

                current = null;
            }

            weight = d.CanaryWeight;
        }

        return releases;
    }
}

/// <summary>
/// The weekly reliability report (DESIGN: Reports/): what every release started in the week did,
/// per service (namespace/name) and overall, as JSON; <see cref="ReportHtml"/> renders it.
/// Releases belong to the week they started in, with their outcome as of the week's end.
/// </summary>
internal static class WeeklyReport
{
    /// <summary>How many weeks the rollback-rate trend covers (this one included).</summary>
    public const int TrendWeeks = 8;

    private static readonly string[] Failing = ["High", "Low"];

    /// <exception cref="System.Data.Common.DbException">The store cannot be read.</exception>
    public static async Task<JsonObject> BuildAsync(IAnalysisStore store, ReportWeek week, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(week);
        var first = week.Previous(TrendWeeks - 1);
        // One more week before the trend's first, so a release already running when it began is seen from its start.
        var decisions = await store.DecisionsBetweenAsync(first.Previous().Start, week.End, cancellationToken);
        // Each analysis's Judge output is parsed once, here.
        var analyses = (await store.AnalysesBetweenAsync(week.Start, week.End, cancellationToken)).Select(ReadAnalysis.Of).ToList();
        var all = Release.Reconstruct(decisions);
        var releases = all.Where(r => r.Started >= week.Start && r.Started < week.End).ToList();
        Attach(releases, analyses, week.End);
        var inWeek = decisions.Where(d => d.At >= week.Start && d.At < week.End).ToList();

        var report = new JsonObject
        {
            ["week"] = week.Label,
            ["timeZone"] = week.Zone.Id,
            ["from"] = Format(week.Start),
            ["to"] = Format(week.End),
            ["createdAt"] = Format(now),
            ["overall"] = Summary(releases, analyses, inWeek),
        };
        var services = new JsonObject();
        var (releasesOf, analysesOf, decisionsOf) = (releases.ToLookup(r => r.Key), analyses.ToLookup(a => a.RolloutKey), inWeek.ToLookup(d => d.RolloutKey));
        foreach (var group in releases.Select(r => r.Key).Concat(analyses.Select(a => a.RolloutKey)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            services[group] = Summary([.. releasesOf[group]], [.. analysesOf[group]], [.. decisionsOf[group]]);
        }

        report["services"] = services;
        report["perDay"] = new JsonArray([.. Enumerable.Range(0, 7).Select(day =>
        {
            // Local midnights, so a day with a daylight-saving change has its 23 or 25 hours.
            var (from, until) = (week.Day(day), week.Day(day + 1));
            var on = releases.Where(r => r.Started >= from && r.Started < until).ToList();
            return (JsonNode)new JsonObject
            {
                ["day"] = TimeZoneInfo.ConvertTime(from, week.Zone).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["promoted"] = on.Count(r => r.Outcome == Release.Promoted),
                ["rolledBack"] = on.Count(r => r.Outcome == Release.RolledBack),
                ["running"] = on.Count(r => r.Outcome == Release.Running),
                ["superseded"] = on.Count(r => r.Outcome == Release.Superseded),
            };
        })]);
        report["trend"] = new JsonArray([.. Enumerable.Range(0, TrendWeeks).Select(back =>
        {
            var w = week.Previous(TrendWeeks - 1 - back);
            var those = all.Where(r => r.Started >= w.Start && r.Started < w.End && r.Decided is { } d && d < w.End).ToList();
            var promoted = those.Count(r => r.Outcome == Release.Promoted);
            var rolledBack = those.Count(r => r.Outcome == Release.RolledBack);
            return (JsonNode)new JsonObject { ["week"] = w.Label, ["promoted"] = promoted, ["rolledBack"] = rolledBack, ["rollbackRate"] = Rate(rolledBack, promoted + rolledBack) };
        })]);
        report["releases"] = new JsonArray([.. releases.OrderBy(r => r.Started).Select(r => (JsonNode)new JsonObject
        {
            ["service"] = r.Key,
            ["revision"] = r.Revision,
            ["started"] = Format(r.Started),
            ["outcome"] = r.Outcome,
            ["decided"] = r.Decided is { } at ? Format(at) : null,
            ["minutesToDecision"] = r.Outcome is Release.Promoted or Release.RolledBack ? Math.Round((r.Decided!.Value - r.Started).TotalMinutes, 2) : null,
        })]);
        report["rolledBack"] = new JsonArray([.. releases.Where(r => r.Outcome == Release.RolledBack).OrderBy(r => r.Started).Select(r => (JsonNode)new JsonObject
        {
            ["service"] = r.Key,
            ["revision"] = r.Revision,
            ["started"] = Format(r.Started),
            ["decided"] = Format(r.Decided!.Value),
            ["timeToRollbackSeconds"] = Math.Round((r.Decided!.Value - r.Started).TotalSeconds, 1),
            ["failedAtWeight"] = r.FailedAtWeight,
            ["reason"] = r.Reason,
            ["failingMetrics"] = new JsonArray([.. LastFailure(r)]),
            ["evidence"] = ReleaseEvidence.Points(r),
        })]);
        return report;
    }

    private static void Attach(List<Release> releases, List<ReadAnalysis> analyses, DateTimeOffset end)
    {
        foreach (var group in releases.GroupBy(r => r.Key))
        {
            var theirs = analyses.Where(a => a.RolloutKey == group.Key).ToList();
            foreach (var release in group)
            {
                var until = release.Decided ?? end;
                release.Analyses.AddRange(theirs.Where(a => a.At >= release.Started && a.At <= until));
            }
        }
    }

    private static JsonObject Summary(List<Release> releases, List<ReadAnalysis> analyses, List<DecisionRecord> decisions)
    {
        var promoted = releases.Count(r => r.Outcome == Release.Promoted);
        var rolledBack = releases.Where(r => r.Outcome == Release.RolledBack).ToList();
        var decided = releases.Where(r => r.Outcome is Release.Promoted or Release.RolledBack).Select(r => (r.Decided!.Value - r.Started).TotalSeconds).ToList();
        var rollbacks = rolledBack.Select(r => (r.Decided!.Value - r.Started).TotalSeconds).ToList();
        var metrics = releases.SelectMany(r => r.Analyses.SelectMany(a => a.Metrics.Select(m => (Release: r, m.Name, m.Classification, m.MeanRatio)))).ToList();
        var failing = metrics.Where(m => Failing.Contains(m.Classification))
            .GroupBy(m => m.Name, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Failures: g.Count(), Releases: g.Select(m => m.Release).Distinct().Count(), Ratio: Quantile([.. g.Select(m => m.MeanRatio).OfType<double>()], 0.5)))
            .OrderByDescending(g => g.Failures).ThenBy(g => g.Name, StringComparer.Ordinal).ToList();
        // Noisy: within one release, a failure that a later analysis contradicts with a pass (a rollback's failures are not contradicted).
        var noisy = metrics.GroupBy(m => m.Name, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Releases: g.GroupBy(m => m.Release).Count(r =>
                r.SkipWhile(m => !Failing.Contains(m.Classification)).Any(m => m.Classification == "Pass"))))
            .Where(g => g.Releases > 0).OrderByDescending(g => g.Releases).ThenBy(g => g.Name, StringComparer.Ordinal).ToList();
        var withoutData = analyses.SelectMany(a => a.Metrics.Select(m => (a.RolloutKey, m.Name, m.Classification)))
            .GroupBy(m => (m.RolloutKey, m.Name))
            .Where(g => g.All(m => m.Classification is "NoData" or "NoDataFailure"))
            .Select(g => g.Key).OrderBy(k => k.RolloutKey, StringComparer.Ordinal).ThenBy(k => k.Name, StringComparer.Ordinal).ToList();
        var commands = decisions.Where(d => d.Commands is not null)
            .SelectMany(d => d.Commands!.Split(',').Select(c => (Decision: d, Command: c))).ToList();
        var prometheusFaults = analyses.Count(a => a.Record.Inconclusive && a.Reason.StartsWith("the metrics source failed", StringComparison.Ordinal));
        return new JsonObject
        {
            ["started"] = releases.Count,
            ["promoted"] = promoted,
            ["rolledBack"] = rolledBack.Count,
            ["running"] = releases.Count(r => r.Outcome == Release.Running),
            ["superseded"] = releases.Count(r => r.Outcome == Release.Superseded),
            ["rollbackRate"] = Rate(rolledBack.Count, promoted + rolledBack.Count),
            ["timeToDecisionSeconds"] = new JsonObject { ["count"] = decided.Count, ["median"] = Quantile(decided, 0.5), ["p90"] = Quantile(decided, 0.9) },
            ["timeToRollbackSeconds"] = new JsonObject { ["count"] = rollbacks.Count, ["median"] = Quantile(rollbacks, 0.5), ["p90"] = Quantile(rollbacks, 0.9) },
            ["decidedBy"] = ReleaseEvidence.DecidedBy(releases),
            ["failingMetrics"] = new JsonArray([.. failing.Select(f => (JsonNode)new JsonObject { ["metric"] = f.Name, ["failures"] = f.Failures, ["releases"] = f.Releases, ["medianMeanRatio"] = Round(f.Ratio) })]),
            ["noisyMetrics"] = new JsonArray([.. noisy.Select(n => (JsonNode)new JsonObject { ["metric"] = n.Name, ["releases"] = n.Releases })]),
            ["metricsWithoutData"] = new JsonArray([.. withoutData.Select(w => (JsonNode)new JsonObject { ["service"] = w.RolloutKey, ["metric"] = w.Name })]),
            ["interventions"] = new JsonObject
            {
                ["total"] = commands.Count,
                ["byCommand"] = new JsonObject([.. commands.GroupBy(c => c.Command, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count()))]),
                ["list"] = new JsonArray([.. commands.Select(c => (JsonNode)new JsonObject { ["service"] = c.Decision.RolloutKey, ["at"] = Format(c.Decision.At), ["command"] = c.Command, ["revision"] = c.Decision.Revision })]),
            },
            ["inconclusiveFromFaults"] = new JsonObject
            {
                ["prometheus"] = prometheusFaults,
                ["kubernetes"] = decisions.Count(d => d.Fault is not null),
            },
        };
    }

    /// <summary>What failed in the last failing analysis of a rolled-back release, and by how much.</summary>
    private static IEnumerable<JsonNode> LastFailure(Release release)
    {
        var last = release.Analyses.LastOrDefault(a => a.Metrics.Any(m => Failing.Contains(m.Classification) || m.Classification is "NoDataFailure" or "Error"));
        return last is null
            ? []
            : last.Metrics.Where(m => m.Classification != "Pass" && m.Classification != "NoData")
                .Select(m => (JsonNode)new JsonObject { ["metric"] = m.Name, ["classification"] = m.Classification, ["meanRatio"] = Round(m.MeanRatio), ["reason"] = m.Reason });
    }

    /// <summary>The p-quantile with linear interpolation between order statistics (R's quantile type 7, its default); null for no values.</summary>
    public static double? Quantile(IReadOnlyList<double> values, double p)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        var h = (sorted.Length - 1) * p;
        var low = (int)Math.Floor(h);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return Math.Round(sorted[low] + ((h - low) * (sorted[high] - sorted[low])), 3);
    }

    private static double? Rate(int part, int whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 3) : null;

    internal static string Format(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
