using System.Globalization;
using System.Net;
using System.Text;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Reports;

/// <summary>
/// A sequential metric's evidence over time as an inline SVG (no script, readable offline): above,
/// the e-value on a log scale with the 1/α line it crosses at; below, the ratio canary/baseline
/// with its bounds as a band and the line at 1. At most <see cref="MaxPoints"/> points are drawn.
/// The rollout and analysis pages and the weekly report draw it.
/// </summary>
internal static class EvidenceChart
{
    public const int MaxPoints = 500;

    private const int Left = 56, Right = 12, Top = 16, Evidence = 130, Gap = 30, Ratio = 110, Bottom = 22;

    /// <summary>points: seconds from the first and the evidence then, oldest first; an empty list draws nothing.</summary>
    /// <param name="spanIsTime">Whether At is seconds (the chart then says the time it covers) or an interval's number.</param>
    public static string Svg(string metric, IReadOnlyList<(double At, MetricEvidence Evidence)> points, int width, string caption, string? id = null, bool spanIsTime = true)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            return string.Empty;
        }

        var drawn = Thin(points);
        var threshold = 1 / drawn[^1].Evidence.Alpha;
        var start = drawn[0].At;
        var span = Math.Max(1, drawn[^1].At - start);
        double X(double at) => Left + (drawn.Count == 1 ? 0 : (at - start) / span * (width - Left - Right));

        // Evidence: from 1/100 (or lower) to ten times the line (or higher), in powers of ten.
        var eLow = Math.Min(-2, Math.Floor(Math.Log10(Math.Max(1e-300, drawn.Min(p => p.Evidence.EValue)))));
        var eHigh = Math.Max(Math.Ceiling(Math.Log10(threshold)) + 1, Math.Ceiling(Math.Log10(Math.Max(1, drawn.Max(p => p.Evidence.EValue)))));
        double YE(double e) => Top + Evidence - ((Math.Log10(Math.Max(e, Math.Pow(10, eLow))) - eLow) / (eHigh - eLow) * Evidence);

        // Ratio: a log scale around 1 wide enough for the estimates and the finite bounds.
        var known = drawn.Where(p => p.Evidence.Ratio is > 0).ToList();
        var values = known.SelectMany(p => new[] { p.Evidence.Ratio, p.Evidence.Lower > 0 ? p.Evidence.Lower : null, p.Evidence.Upper }).OfType<double>().Where(v => v > 0 && double.IsFinite(v)).DefaultIfEmpty(1).ToList();
        var rLow = Math.Min(-0.1, Math.Floor(Math.Log10(values.Min()) * 10) / 10);
        var rHigh = Math.Max(0.1, Math.Ceiling(Math.Log10(values.Max()) * 10) / 10);
        var ratioTop = Top + Evidence + Gap;
        double YR(double r) => ratioTop + Ratio - ((Math.Clamp(Math.Log10(r), rLow, rHigh) - rLow) / (rHigh - rLow) * Ratio);

        var line = Polyline(drawn.Select(p => (X(p.At), YE(p.Evidence.EValue))));
        // The ratio where it is known (an analysis's own intervals give it only at their end): one point is a bar, more a band.
        var estimate = Polyline(known.Select(p => (X(p.At), YR(p.Evidence.Ratio!.Value))));
        var upper = known.Select(p => (X(p.At), p.Evidence.Upper is { } u ? YR(u) : ratioTop)).ToList();
        var lower = known.Select(p => (X(p.At), p.Evidence.Lower > 0 ? YR(p.Evidence.Lower) : ratioTop + Ratio)).Reverse().ToList();
        var band = known.Count == 1
            ? Polyline([(upper[0].Item1 - 3, upper[0].Item2), (upper[0].Item1 + 3, upper[0].Item2), (lower[0].Item1 + 3, lower[0].Item2), (lower[0].Item1 - 3, lower[0].Item2)])
            : Polyline(upper.Concat(lower));
        var dot = known.Count == 1 ? string.Create(CultureInfo.InvariantCulture, $"<circle cx=\"{X(known[0].At):0.#}\" cy=\"{YR(known[0].Evidence.Ratio!.Value):0.#}\" r=\"3\" fill=\"#1a7f37\"/>") : string.Empty;
        var last = drawn[^1].Evidence;
        var label = $"{metric}: evidence {Number(last.EValue)} (line at 1/α = {Number(threshold)}), ratio {(last.Ratio is { } r ? Number(r) + "×" : "unknown")} ({Number(last.Lower)}× … {(last.Upper is { } up ? Number(up) + "×" : "∞")})";
        var height = ratioTop + Ratio + Bottom;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""
            <svg{(id is null ? string.Empty : $" id=\"{WebUtility.HtmlEncode(id)}\"")} class="evidence" width="{width}" height="{height}" role="img" aria-label="{WebUtility.HtmlEncode(label)}">
            <text x="{Left}" y="11" font-size="11">{WebUtility.HtmlEncode(label)}</text>
            <rect x="{Left}" y="{Top}" width="{width - Left - Right}" height="{Evidence}" fill="none" stroke="#eaeef2"/>
            <line class="threshold" x1="{Left}" y1="{YE(threshold):0.#}" x2="{width - Right}" y2="{YE(threshold):0.#}" stroke="#cf222e" stroke-dasharray="5,3"/>
            <text x="4" y="{YE(threshold) + 4:0.#}" font-size="11" fill="#cf222e">1/α {Number(threshold)}</text>
            <line x1="{Left}" y1="{YE(1):0.#}" x2="{width - Right}" y2="{YE(1):0.#}" stroke="#8c959f"/><text x="4" y="{YE(1) + 4:0.#}" font-size="11">1</text>
            <polyline class="evalue" fill="none" stroke="#0969da" stroke-width="2" points="{line}"/>
            <text x="4" y="{ratioTop + 10}" font-size="11">ratio</text>
            <polygon class="bounds" fill="#0969da" fill-opacity="0.15" stroke="none" points="{band}"/>
            <line x1="{Left}" y1="{YR(1):0.#}" x2="{width - Right}" y2="{YR(1):0.#}" stroke="#8c959f"/><text x="4" y="{YR(1) + 4:0.#}" font-size="11">1×</text>
            <polyline class="ratio" fill="none" stroke="#1a7f37" stroke-width="2" points="{estimate}"/>{dot}
            <text x="{Left}" y="{height - 5}" font-size="11">{WebUtility.HtmlEncode(caption)}</text>
            <text x="{width - Right}" y="{height - 5}" font-size="11" text-anchor="end">{(drawn.Count > 1 && spanIsTime ? $"{Span(span)} in all" : string.Empty)}</text>
            </svg>

            """);
        return svg.ToString();
    }

    /// <summary>One chart per sequential metric of a release's evidence points (the store's, oldest first), captioned with their time span.</summary>
    public static string Release(IReadOnlyList<EvidencePoint> points, int width, string idPrefix)
    {
        ArgumentNullException.ThrowIfNull(points);
        var html = new StringBuilder();
        foreach (var metric in points.SelectMany(p => p.Metrics.Keys).Distinct(StringComparer.Ordinal))
        {
            var own = points.Where(p => p.Metrics.ContainsKey(metric)).Select(p => (p.At, Evidence: p.Metrics[metric])).ToList();
            var caption = $"{Metrics.AnalysisDocument.Format(own[0].At)} … {Metrics.AnalysisDocument.Format(own[^1].At)}, {own.Count} analyses";
            html.Append(Svg(metric, [.. own.Select(p => ((p.At - own[0].At).TotalSeconds, p.Evidence))], width, caption, $"{idPrefix}-{metric}"));
        }

        return html.ToString();
    }

    /// <summary>The points of the release the last point belongs to: from after the last time the counted time went back (a new release restarted the evidence).</summary>
    public static IReadOnlyList<EvidencePoint> LastRelease(IReadOnlyList<EvidencePoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var start = 0;
        for (var i = 1; i < points.Count; i++)
        {
            if (points[i].Metrics.Any(m => m.Value.Seconds is { } now && points[i - 1].Metrics.GetValueOrDefault(m.Key)?.Seconds is { } before && now < before))
            {
                start = i;
            }
        }

        return [.. points.Skip(start)];
    }

    /// <summary>At most <see cref="MaxPoints"/> of the points, evenly spaced, the first and the last kept.</summary>
    public static IReadOnlyList<T> Thin<T>(IReadOnlyList<T> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        return points.Count <= MaxPoints ? points : [.. Enumerable.Range(0, MaxPoints).Select(i => points[(int)((long)i * (points.Count - 1) / (MaxPoints - 1))])];
    }

    private static string Polyline(IEnumerable<(double X, double Y)> points) =>
        string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:0.#},{p.Y:0.#}")));

    private static string Span(double seconds) => seconds < 120
        ? seconds.ToString("0", CultureInfo.InvariantCulture) + " s"
        : seconds < 7200 ? (seconds / 60).ToString("0.#", CultureInfo.InvariantCulture) + " min" : (seconds / 3600).ToString("0.#", CultureInfo.InvariantCulture) + " h";

    private static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
