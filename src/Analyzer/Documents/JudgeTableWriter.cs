using System.Globalization;
using Canary.Judge.Results;

namespace Canary.Analyzer.Documents;

/// <summary>A plain-text table of a verdict for terminals: one line per metric, then the verdict.</summary>
internal static class JudgeTableWriter
{
    public static void Write(TextWriter output, JudgeResult result)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(result);
        string[] header = ["METRIC", "GROUP", "RESULT", "BASELINE", "CANARY", "CHANGE", "P-VALUE"];
        var rows = result.Metrics.Select(m => new[]
        {
            m.Name + (m.Critical ? " (critical)" : string.Empty),
            m.Group,
            m.Classification.ToString(),
            m.Control.Count == 0 ? "-" : Number(m.Control.Median),
            m.Experiment.Count == 0 ? "-" : Number(m.Experiment.Median),
            m.EffectSize.MeanRatio is { } ratio ? ((ratio - 1) * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " %"
                : m.EffectSize.Ratio is { } sequential ? "×" + Number(sequential) : "-",
            m.Test is { } test ? test.PValue.ToString("G3", CultureInfo.InvariantCulture)
                : m.Sequential is { } evidence ? "e " + evidence.EValue.ToString("G3", CultureInfo.InvariantCulture) : "-",
        }).ToList();
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        output.WriteLine(Line(header, widths));
        foreach (var row in rows)
        {
            output.WriteLine(Line(row, widths));
        }

        output.WriteLine();
        // Every metric that did not pass says why; every sequential metric how far its evidence is from the line.
        foreach (var metric in result.Metrics.Where(m => m.Classification != MetricClassification.Pass || m.Sequential is not null))
        {
            output.WriteLine($"  {metric.Reason}");
        }

        var verdict = result.Inconclusive ? $"{result.Classification}, inconclusive" : result.Classification.ToString();
        output.WriteLine($"{verdict}: score {result.Score.ToString("0.##", CultureInfo.InvariantCulture)}. {result.Reason}");
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    private static string Number(double value) => value.ToString("G5", CultureInfo.InvariantCulture);
}
