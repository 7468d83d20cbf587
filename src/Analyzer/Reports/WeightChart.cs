using System.Globalization;
using System.Text;

namespace Canary.Analyzer.Reports;

/// <summary>The canary's weight over time as an inline SVG step line (no script, readable offline): the dashboard's rollout page and the demo's summary draw it.</summary>
internal static class WeightChart
{
    /// <summary>steps: each weight from its time on (seconds from the first); the line runs to end; id, when given, is the element's id.</summary>
    public static string Svg(IReadOnlyList<(double At, int Weight)> steps, double end, int width, int height, string caption, string? id = null)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0)
        {
            return string.Empty;
        }

        const int Left = 44, Bottom = 22, Right = 12;
        var start = steps[0].At;
        var span = Math.Max(1, end - start);
        double X(double at) => Left + ((at - start) / span * (width - Left - Right));
        double Y(int weight) => height - Bottom - (weight / 100.0 * (height - Bottom - 12));
        var points = new StringBuilder();
        int? previous = null;
        foreach (var (at, weight) in steps)
        {
            if (previous is { } p)
            {
                points.Append(CultureInfo.InvariantCulture, $"{X(at):0.#},{Y(p):0.#} ");
            }

            points.Append(CultureInfo.InvariantCulture, $"{X(at):0.#},{Y(weight):0.#} ");
            previous = weight;
        }

        points.Append(CultureInfo.InvariantCulture, $"{X(end):0.#},{Y(previous!.Value):0.#}");
        return string.Create(CultureInfo.InvariantCulture, $"""
            <svg{(id is null ? string.Empty : $" id=\"{id}\"")} width="{width}" height="{height}" role="img" aria-label="canary weight over time">
            <line x1="{Left}" y1="{Y(0):0.#}" x2="{width - Right}" y2="{Y(0):0.#}" stroke="#8c959f"/><line x1="{Left}" y1="{Y(100):0.#}" x2="{width - Right}" y2="{Y(100):0.#}" stroke="#eaeef2"/>
            <text x="4" y="{Y(100) + 4:0.#}" font-size="11">100 %</text><text x="4" y="{Y(0) + 4:0.#}" font-size="11">0 %</text>
            <text x="{Left}" y="{height - 5}" font-size="11">{System.Net.WebUtility.HtmlEncode(caption)}</text>
            <polyline fill="none" stroke="#0969da" stroke-width="2" points="{points}"/>
            </svg>

            """);
    }
}
