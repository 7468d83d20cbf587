using System.Globalization;
using System.Text.Json.Nodes;
using ScottPlot;

namespace Canary.Analyzer.Reports;

/// <summary>The report's four charts as PNG (ScottPlot 5 on SkiaSharp): releases per day, time to decision, top failing metrics, rollback-rate trend.</summary>
internal static class ReportCharts
{
    private const int Width = 760;
    private const int Height = 360;
    private static readonly Color PromotedColor = Color.FromHex("#1a7f37");
    private static readonly Color RolledBackColor = Color.FromHex("#cf222e");
    private static readonly Color RunningColor = Color.FromHex("#0969da");
    private static readonly Color SupersededColor = Color.FromHex("#8c959f");

    /// <summary>File name → PNG bytes, in the order the report shows them.</summary>
    public static IReadOnlyList<(string File, string Title, byte[] Png)> Render(JsonObject report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return
        [
            ("releases-per-day.png", "Releases started per day, by outcome", ReleasesPerDay(report)),
            ("time-to-decision.png", "Time from new revision to decision", TimeToDecision(report)),
            ("top-failing-metrics.png", "Metrics that failed most often", TopFailingMetrics(report)),
            ("rollback-rate-trend.png", $"Rollback rate, last {WeeklyReport.TrendWeeks} weeks", RollbackTrend(report)),
        ];
    }

    private static byte[] ReleasesPerDay(JsonObject report)
    {
        var days = report["perDay"]!.AsArray().Select(d => d!.AsObject()).ToList();
        var plot = new Plot();
        var bars = new List<Bar>();
        for (var i = 0; i < days.Count; i++)
        {
            double bottom = 0;
            foreach (var (field, color) in new[] { ("promoted", PromotedColor), ("rolledBack", RolledBackColor), ("running", RunningColor), ("superseded", SupersededColor) })
            {
                var count = days[i][field]!.GetValue<int>();
                if (count > 0)
                {
                    bars.Add(new Bar { Position = i, ValueBase = bottom, Value = bottom + count, FillColor = color });
                    bottom += count;
                }
            }
        }

        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = Labels([.. days.Select(d => DateTime.ParseExact(d["day"]!.GetValue<string>(), "yyyy-MM-dd", CultureInfo.InvariantCulture).ToString("ddd d MMM", CultureInfo.InvariantCulture))]);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "promoted", FillColor = PromotedColor });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "rolled back", FillColor = RolledBackColor });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "running", FillColor = RunningColor });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "superseded", FillColor = SupersededColor });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.Left.TickGenerator = Counts();
        plot.YLabel("releases");
        Finish(plot, "Releases started per day, by outcome", bars.Count == 0);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    private static byte[] TimeToDecision(JsonObject report)
    {
        var minutes = report["releases"]!.AsArray().Select(r => r!["minutesToDecision"]).OfType<JsonValue>().Select(v => v.GetValue<double>()).ToList();
        var plot = new Plot();
        if (minutes.Count > 0)
        {
            var high = Math.Max(1, minutes.Max());
            const int Bins = 20;
            var width = high / Bins;
            var counts = new int[Bins];
            foreach (var m in minutes)
            {
                counts[Math.Min(Bins - 1, (int)(m / width))]++;
            }

            plot.Add.Bars(Enumerable.Range(0, Bins).Select(i => new Bar { Position = (i + 0.5) * width, Value = counts[i], Size = width * 0.9, FillColor = RunningColor }).ToArray());
            var overall = report["overall"]!["timeToDecisionSeconds"]!;
            foreach (var (name, color) in new[] { ("median", PromotedColor), ("p90", RolledBackColor) })
            {
                if (overall[name] is JsonValue value && value.TryGetValue<double>(out var seconds))
                {
                    var line = plot.Add.VerticalLine(seconds / 60, 2, color);
                    line.LegendText = $"{name} {seconds / 60:0.#} min";
                }
            }

            plot.ShowLegend(Alignment.UpperRight);
        }

        plot.Axes.Margins(bottom: 0);
        plot.Axes.Left.TickGenerator = Counts();
        plot.XLabel("minutes");
        plot.YLabel("releases");
        Finish(plot, "Time from new revision to decision", minutes.Count == 0);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    private static byte[] TopFailingMetrics(JsonObject report)
    {
        var metrics = report["overall"]!["failingMetrics"]!.AsArray().Take(10).Select(m => m!.AsObject()).Reverse().ToList();
        var plot = new Plot();
        var bars = plot.Add.Bars(metrics.Select((m, i) => new Bar { Position = i, Value = m["failures"]!.GetValue<int>(), FillColor = RolledBackColor }).ToArray());
        bars.Horizontal = true;
        plot.Axes.Left.TickGenerator = Labels([.. metrics.Select(m => m["medianMeanRatio"] is JsonValue r && r.TryGetValue<double>(out var ratio)
                ? $"{m["metric"]!.GetValue<string>()} (×{ratio.ToString("0.##", CultureInfo.InvariantCulture)})"
                : m["metric"]!.GetValue<string>())]);
        plot.Axes.Margins(left: 0);
        plot.Axes.Bottom.TickGenerator = Counts();
        plot.XLabel("failed analyses");
        Finish(plot, "Metrics that failed most often (typical effect size)", metrics.Count == 0);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    private static byte[] RollbackTrend(JsonObject report)
    {
        var weeks = report["trend"]!.AsArray().Select(w => w!.AsObject()).ToList();
        var plot = new Plot();
        var points = weeks.Select((w, i) => (X: (double)i, Rate: w["rollbackRate"] is JsonValue v && v.TryGetValue<double>(out var rate) ? rate * 100 : double.NaN)).Where(p => !double.IsNaN(p.Rate)).ToList();
        if (points.Count > 0)
        {
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Rate).ToArray());
            line.Color = RolledBackColor;
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }

        plot.Axes.Bottom.TickGenerator = Labels([.. weeks.Select(w => w["week"]!.GetValue<string>())]);
        plot.Axes.SetLimitsY(0, Math.Max(10, points.Count == 0 ? 10 : points.Max(p => p.Rate) * 1.2));
        plot.YLabel("rolled back, % of decided releases");
        Finish(plot, $"Rollback rate, last {WeeklyReport.TrendWeeks} weeks", points.Count == 0);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>One labelled tick per bar or point, at 0, 1, 2, …</summary>
    private static ScottPlot.TickGenerators.NumericManual Labels(string[] labels) => new([.. Enumerable.Range(0, labels.Length).Select(i => (double)i)], labels);

    /// <summary>Ticks at whole numbers only: the axis counts releases or analyses.</summary>
    private static ScottPlot.TickGenerators.NumericAutomatic Counts() => new() { IntegerTicksOnly = true };

    private static void Finish(Plot plot, string title, bool empty)
    {
        plot.Title(title);
        if (empty)
        {
            var text = plot.Add.Text("no data this week", 0, 0);
            text.LabelFontSize = 18;
            text.LabelAlignment = Alignment.MiddleCenter;
        }
    }
}
