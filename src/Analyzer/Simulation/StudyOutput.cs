using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Canary.Analyzer.Simulation;

/// <summary>A study's results as a table (one row per scenario and rule) or as JSON.</summary>
internal static class StudyOutput
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Table(StudyPlan plan, IReadOnlyList<RuleSummary> results)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(results);
        var s = plan.Settings;
        var text = new StringBuilder();
        text.Append(Invariant, $"{s.Rollouts} rollouts per scenario and rule, seed {s.Seed}; steps {string.Join(" → ", s.StepWeights.Select(w => $"{w} %"))} every {Documents.TimeArguments.Format(s.Interval)}, threshold {s.Threshold}, confidence {s.ConfidenceLevel.ToString("R", Invariant)}, scrapes every {Documents.TimeArguments.Format(s.Scrape)}\n");
        text.Append("A bad canary (*) should be rolled back; any other should be promoted.\n\n");
        string[] header = ["scenario", "rule", "rolled back (95 % interval)", "promoted", "undecided", "median to rollback", "median to promotion", "canary requests", "canary failures", "failed before rollback"];
        var rows = results.Select(r => new[]
        {
            r.Bad ? $"{r.Scenario} *" : r.Scenario,
            r.Rule,
            $"{Percent(r.Share)} ({Percent(r.Interval.Low)} – {Percent(r.Interval.High)})",
            Percent(r.Promoted / (double)r.Rollouts),
            r.Undecided.ToString(Invariant),
            Minutes(r.MedianToRollback),
            Minutes(r.MedianToPromotion),
            r.CanaryRequests.ToString("N0", Invariant),
            r.CanaryErrors.ToString("N0", Invariant),
            r.ErrorsBeforeRollback is { } e ? e.ToString("N0", Invariant) : "—",
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        void Line(string[] cells) => text.Append(string.Join("  ", cells.Select((c, i) => i < 2 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd()).Append('\n');
        Line(header);
        string? last = null;
        foreach (var (row, result) in rows.Zip(results))
        {
            if (last is not null && last != result.Scenario)
            {
                text.Append('\n');
            }

            Line(row);
            last = result.Scenario;
        }

        return text.ToString();
    }

    public static string Json(StudyPlan plan, IReadOnlyList<RuleSummary> results)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(results);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var s = plan.Settings;
            w.WriteStartObject();
            w.WriteNumber("rollouts", s.Rollouts);
            w.WriteNumber("seed", s.Seed);
            w.WriteStartArray("results");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("scenario", r.Scenario);
                w.WriteBoolean("bad", r.Bad);
                w.WriteString("rule", r.Rule);
                w.WriteNumber("rollouts", r.Rollouts);
                w.WriteNumber("rolledBack", r.RolledBack);
                w.WriteNumber("promoted", r.Promoted);
                w.WriteNumber("undecided", r.Undecided);
                w.WriteStartObject("rolledBackShare");
                w.WriteNumber("estimate", Math.Round(r.Share, 6));
                w.WriteNumber("low", Math.Round(r.Interval.Low, 6));
                w.WriteNumber("high", Math.Round(r.Interval.High, 6));
                w.WriteEndObject();
                Seconds(w, "medianSecondsToRollback", r.MedianToRollback);
                Seconds(w, "medianSecondsToPromotion", r.MedianToPromotion);
                w.WriteNumber("canaryRequests", Math.Round(r.CanaryRequests, 1));
                w.WriteNumber("canaryFailures", Math.Round(r.CanaryErrors, 1));
                if (r.ErrorsBeforeRollback is { } before)
                {
                    w.WriteNumber("failuresBeforeRollback", Math.Round(before, 1));
                }
                else
                {
                    w.WriteNull("failuresBeforeRollback");
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Seconds(Utf8JsonWriter w, string name, TimeSpan? value)
    {
        if (value is { } t)
        {
            w.WriteNumber(name, t.TotalSeconds);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string Minutes(TimeSpan? span) => span is { } t ? t.TotalMinutes.ToString("0.#", Invariant) + " min" : "—";

    private static string Percent(double share) => (share * 100).ToString(share is > 0 and < 0.1 ? "0.0#" : "0.0", Invariant) + " %";
}
