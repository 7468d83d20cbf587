using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Canary.Analyzer.Api;

/// <summary>The dashboard's inline SVG charts of an analysis: both cohorts' samples over time and their distributions.</summary>
internal static class DashboardCharts
{
    /// <summary>Both cohorts over the window, one point per step (gaps for missing steps).</summary>
    public static string Series(double?[] control, double?[] experiment)
    {
        const int Width = 460, Height = 200, Pad = 30;
        var all = control.Concat(experiment).OfType<double>().ToList();
        if (all.Count == 0)
        {
            return "<p class=\"muted\">No samples.</p>";
        }

        var (low, high) = (all.Min(), all.Max());
        if (high <= low)
        {
            (low, high) = (low - 1, high + 1);
        }

        var count = Math.Max(2, Math.Max(control.Length, experiment.Length));
        string Line(double?[] values, string color)
        {
            var path = new StringBuilder();
            var pen = 'M';
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is not { } v)
                {
                    pen = 'M';
                    continue;
                }

                path.Append(CultureInfo.InvariantCulture, $"{pen}{Pad + (i * (Width - (2 * Pad)) / (count - 1.0)):0.#},{Height - Pad - ((v - low) / (high - low) * (Height - (2 * Pad))):0.#} ");
                pen = 'L';
            }

            return $"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\"/>";
        }

        return string.Create(CultureInfo.InvariantCulture, $"""
            <svg class="series" width="{Width}" height="{Height}" role="img" aria-label="samples of both cohorts over the window">
            <text x="4" y="14" font-size="11">{Number(high)}</text><text x="4" y="{Height - Pad + 4}" font-size="11">{Number(low)}</text>
            {Line(control, "#57606a")}{Line(experiment, "#bf3989")}
            <text x="{Pad}" y="{Height - 8}" font-size="11" fill="#57606a">control</text><text x="{Pad + 60}" y="{Height - 8}" font-size="11" fill="#bf3989">experiment</text>
            </svg>
            """);
    }

    /// <summary>Both cohorts' values as side-by-side histograms over the same bins.</summary>
    public static string Distribution(double?[] control, double?[] experiment)
    {
        const int Width = 460, Height = 200, Pad = 30, Bins = 20;
        var a = control.OfType<double>().ToArray();
        var b = experiment.OfType<double>().ToArray();
        if (a.Length + b.Length == 0)
        {
            return string.Empty;
        }

        var (low, high) = (a.Concat(b).Min(), a.Concat(b).Max());
        if (high <= low)
        {
            (low, high) = (low - 1, high + 1);
        }

        int[] Count(double[] values)
        {
            var bins = new int[Bins];
            foreach (var v in values)
            {
                bins[Math.Min(Bins - 1, (int)((v - low) / (high - low) * Bins))]++;
            }

            return bins;
        }

        var (ca, cb) = (Count(a), Count(b));
        var most = Math.Max(1, Math.Max(ca.Max(), cb.Max()));
        var bars = new StringBuilder();
        var width = (Width - (2.0 * Pad)) / Bins;
        for (var i = 0; i < Bins; i++)
        {
            foreach (var (counts, offset, color) in new[] { (ca, 0.0, "#57606a"), (cb, width / 2, "#bf3989") })
            {
                var h = counts[i] * (Height - (2.0 * Pad)) / most;
                bars.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Pad + (i * width) + offset:0.#}\" y=\"{Height - Pad - h:0.#}\" width=\"{(width / 2) - 1:0.#}\" height=\"{h:0.#}\" fill=\"{color}\"/>");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"""
            <svg class="distribution" width="{Width}" height="{Height}" role="img" aria-label="distribution of both cohorts">
            {bars}<text x="{Pad}" y="{Height - 8}" font-size="11">{Number(low)} … {Number(high)}</text>
            </svg>
            """);
    }

    public static double?[] Values(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(v => v is JsonValue value && value.TryGetValue<double>(out var d) ? d : (double?)null)] : [];

    public static string Number(JsonValue value) => value.TryGetValue<double>(out var d) ? Number(d) : "–";

    public static string Number(double value) => Math.Abs(value) is >= 1e4 or (< 1e-3 and > 0) ? value.ToString("0.###e0", CultureInfo.InvariantCulture) : value.ToString("0.####", CultureInfo.InvariantCulture);
}
