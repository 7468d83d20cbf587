using System.Text.Json.Nodes;

namespace Canary.Testing.Kubernetes;

/// <summary>A label selector as the API server reads it: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a.</summary>
public sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> requirements = [];

    /// <exception cref="FormatException">The selector is malformed.</exception>
    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        foreach (var part in Split(text ?? string.Empty).Select(p => p.Trim()).Where(p => p.Length > 0))
        {
            if (part.Contains(" notin ", StringComparison.Ordinal) || part.Contains(" in ", StringComparison.Ordinal))
            {
                var not = part.Contains(" notin ", StringComparison.Ordinal);
                var pieces = part.Split(not ? " notin " : " in ", 2, StringSplitOptions.TrimEntries);
                var values = pieces[1].Trim().TrimStart('(').TrimEnd(')').Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                var key = pieces[0];
                selector.requirements.Add(not ? l => !l.TryGetValue(key, out var v) || !values.Contains(v) : l => l.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if (part.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Pair(part, "!=");
                selector.requirements.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if (part.Contains('=', StringComparison.Ordinal))
            {
                var (key, value) = Pair(part, part.Contains("==", StringComparison.Ordinal) ? "==" : "=");
                selector.requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (part.StartsWith('!'))
            {
                var key = part[1..].Trim();
                selector.requirements.Add(l => !l.ContainsKey(key));
            }
            else if (part.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/'))
            {
                selector.requirements.Add(l => l.ContainsKey(part));
            }
            else
            {
                throw new FormatException($"unable to parse requirement: \"{part}\"");
            }
        }

        return selector;
    }

    public bool Matches(JsonObject item)
    {
        var labels = item["metadata"]?["labels"] is JsonObject l
            ? l.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? string.Empty, StringComparer.Ordinal)
            : [];
        return requirements.All(r => r(labels));
    }

    private static (string Key, string Value) Pair(string part, string op)
    {
        var index = part.IndexOf(op, StringComparison.Ordinal);
        return (part[..index].Trim(), part[(index + op.Length)..].Trim());
    }

    /// <summary>Splits on commas outside parentheses.</summary>
    private static IEnumerable<string> Split(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }

        yield return text[start..];
    }
}
