using System.Text;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// A cohort selector as the API takes it: label matchers only — `label op "value"`, comma-separated,
/// op one of = != =~ !~, the value a PromQL string literal in double, single or back quotes. Read
/// and written back in canonical form (every value escaped again), so an API caller selects a
/// cohort but can never add PromQL of its own to the query.
/// </summary>
internal static class LabelMatchers
{
    private static readonly string[] Operators = ["=~", "!~", "!=", "="];

    /// <summary>The matchers in canonical form (label="escaped", ...), or null with the reason.</summary>
    public static string? Parse(string text, out string reason)
    {
        ArgumentNullException.ThrowIfNull(text);
        var matchers = new List<string>();
        var at = 0;
        while (true)
        {
            Skip(text, ref at);
            var start = at;
            while (at < text.Length && (char.IsAsciiLetterOrDigit(text[at]) || text[at] == '_'))
            {
                at++;
            }

            var label = text[start..at];
            if (!PromQl.IsLabelName(label))
            {
                reason = $"expected a label name at character {start + 1}, got {Near(text, start)}; write label matchers such as version=\"v1\", pod=~\"checkout-.*\"";
                return null;
            }

            Skip(text, ref at);
            var op = Operators.FirstOrDefault(o => string.CompareOrdinal(text, at, o, 0, o.Length) == 0);
            if (op is null)
            {
                reason = $"expected =, !=, =~ or !~ after {label} at character {at + 1}, got {Near(text, at)}";
                return null;
            }

            at += op.Length;
            Skip(text, ref at);
            if (ReadString(text, ref at, out var problem) is not { } value)
            {
                reason = $"the value of {label}: {problem}";
                return null;
            }

            matchers.Add($"{label}{op}\"{PromQl.EscapeString(value)}\"");
            Skip(text, ref at);
            if (at == text.Length)
            {
                reason = string.Empty;
                return string.Join(", ", matchers);
            }

            if (text[at] != ',')
            {
                reason = $"expected , or the end after the value of {label} at character {at + 1}, got {Near(text, at)}; only label matchers are allowed here";
                return null;
            }

            at++;
        }
    }

    /// <summary>A quoted PromQL string (Go escapes in double and single quotes, none in back quotes), unescaped.</summary>
    private static string? ReadString(string text, ref int at, out string problem)
    {
        if (at >= text.Length || text[at] is not ('"' or '\'' or '`'))
        {
            problem = $"expected a quoted string at character {at + 1}, got {Near(text, at)}";
            return null;
        }

        var quote = text[at++];
        var value = new StringBuilder();
        while (at < text.Length && text[at] != quote)
        {
            var c = text[at++];
            if (c != '\\' || quote == '`')
            {
                value.Append(c);
                continue;
            }

            if (at >= text.Length)
            {
                break;
            }

            var escaped = text[at++];
            switch (escaped)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case '\\' or '"' or '\'': value.Append(escaped); break;
                default:
                    // A regular expression's own escapes (\. \d) are kept as written.
                    value.Append('\\').Append(escaped);
                    break;
            }
        }

        if (at >= text.Length)
        {
            problem = $"the string opened with {quote} is not closed";
            return null;
        }

        at++;
        problem = string.Empty;
        return value.ToString();
    }

    private static void Skip(string text, ref int at)
    {
        while (at < text.Length && char.IsWhiteSpace(text[at]))
        {
            at++;
        }
    }

    private static string Near(string text, int at) =>
        at >= text.Length ? "the end" : $"\"{(text.Length - at > 20 ? string.Concat(text.AsSpan(at, 17), "...") : text[at..])}\"";
}
