using Canary.Analyzer.Documents;
using System.Text;
using System.Text.RegularExpressions;

namespace Canary.Analyzer.Metrics;

/// <summary>The bits of PromQL syntax canary writes itself: string literals, label matchers, durations.</summary>
internal static partial class PromQl
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

    /// <summary>A positive PromQL duration (<see cref="Durations.TryParse"/>).</summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration) => Durations.TryParse(text, out duration);


    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*\\z")]
    private static partial Regex LabelName();

    [GeneratedRegex("^(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?(?:[0-9]+ms)?\\z")]
    private static partial Regex Duration();
}
