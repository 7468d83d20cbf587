using System.Text;
using System.Text.RegularExpressions;

namespace Canary.Analyzer.Metrics;

/// <summary>The bits of PromQL syntax canary writes itself: string literals, label matchers, durations.</summary>
public static partial class PromQl
{
    /// <summary>
    /// The body of a double-quoted PromQL string literal holding value: backslash, quote and control
    /// characters are escaped (PromQL strings follow Go's escapes), so no value can end the string
    /// and change the query's structure.
    /// </summary>
    public static string EscapeString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var escaped = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => escaped.Append(@"\\"),
                '"' => escaped.Append("\\\""),
                '\n' => escaped.Append(@"\n"),
                '\r' => escaped.Append(@"\r"),
                '\t' => escaped.Append(@"\t"),
                < ' ' => escaped.Append(@"\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }

    /// <summary>A label matcher name="value" (or name=~"value" for a regular expression) with the value escaped.</summary>
    public static string Matcher(string label, string value, bool regex = false)
    {
        if (!IsLabelName(label))
        {
            throw new ArgumentException($"\"{label}\" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", nameof(label));
        }

        return $"{label}{(regex ? "=~" : "=")}\"{EscapeString(value)}\"";
    }

    public static bool IsLabelName(string name) => LabelName().IsMatch(name);

    /// <summary>A PromQL duration such as 30s, 1m, 1h30m or 500ms.</summary>
    public static bool IsDuration(string text) => Duration().IsMatch(text);

    /// <summary>
    /// A positive PromQL duration: units y (365 days), w, d, h, m, s, ms in that order, each at most
    /// once, at most 100 years (Prometheus's own limit is about 292).
    /// </summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = text is { Length: > 0 } ? DurationParts().Match(text) : Match.Empty;
        if (!match.Success)
        {
            return false;
        }

        string[] units = ["y", "w", "d", "h", "m", "s", "ms"];
        double[] milliseconds = [365 * 86_400_000.0, 7 * 86_400_000.0, 86_400_000, 3_600_000, 60_000, 1000, 1];
        var total = 0.0;
        for (var i = 0; i < units.Length; i++)
        {
            var group = match.Groups[units[i]];
            if (group.Success)
            {
                total += double.Parse(group.Value, System.Globalization.CultureInfo.InvariantCulture) * milliseconds[i];
            }
        }

        if (!(total > 0 && total <= 100 * milliseconds[0]))
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }

    [GeneratedRegex("^(?:(?<y>[0-9]{1,6})y)?(?:(?<w>[0-9]{1,6})w)?(?:(?<d>[0-9]{1,6})d)?(?:(?<h>[0-9]{1,9})h)?(?:(?<m>[0-9]{1,9})m)?(?:(?<s>[0-9]{1,12})s)?(?:(?<ms>[0-9]{1,15})ms)?\\z")]
    private static partial Regex DurationParts();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*\\z")]
    private static partial Regex LabelName();

    [GeneratedRegex("^(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?(?:[0-9]+ms)?\\z")]
    private static partial Regex Duration();
}
