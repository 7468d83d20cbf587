using System.Text.RegularExpressions;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// A PromQL template from queries/NAME.promql: a header of "# key: value" lines (kind, unit,
/// direction, description) and a body with {{placeholders}}. {{cohort}} takes the label matchers
/// canary builds; {{interval}} a PromQL duration; every other placeholder a value that is escaped
/// into a string literal, so the template must put it inside double quotes.
/// </summary>
internal sealed partial class QueryTemplate
{
    /// <summary>Placeholders every template may use without declaring them.</summary>
    public static readonly IReadOnlySet<string> BuiltIns = new HashSet<string>(StringComparer.Ordinal) { "namespace", "cohort", "interval" };

    private static readonly string[] Kinds = ["ratio", "latency", "count", "gauge"];
    private static readonly string[] Directions = ["increase", "decrease", "either"];

    private QueryTemplate(string name, IReadOnlyDictionary<string, string> header, string body, IReadOnlyList<string> placeholders)
    {
        Name = name;
        Header = header;
        Body = body;
        Placeholders = placeholders;
    }

    public string Name { get; }

    public IReadOnlyDictionary<string, string> Header { get; }

    public string Body { get; }

    /// <summary>The distinct placeholders of the body, in order of first use.</summary>
    public IReadOnlyList<string> Placeholders { get; }

    public string Kind => Header["kind"];

    public string Direction => Header.GetValueOrDefault("direction", "either");

    /// <summary>
    /// Parses and checks a template. Every problem names the file and, where it has one, the line:
    /// a malformed or unknown header key, a missing kind, a placeholder that is neither built in nor
    /// one of <paramref name="variables"/>, a value placeholder outside a string literal.
    /// </summary>
    /// <exception cref="TemplateException">The template is invalid.</exception>
    public static QueryTemplate Parse(string file, string text, IReadOnlySet<string> variables)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(variables);
        var problems = new List<string>();
        var header = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var bodyStart = 0;
        for (; bodyStart < lines.Length && lines[bodyStart].StartsWith('#'); bodyStart++)
        {
            var line = lines[bodyStart][1..].Trim();
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                problems.Add($"{file}:{bodyStart + 1}: header lines are \"# key: value\", got \"{lines[bodyStart]}\"");
                continue;
            }

            var (key, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            var allowed = key switch
            {
                "kind" => Kinds,
                "direction" => Directions,
                "unit" or "description" => null,
                _ => [],
            };
            if (allowed is { Length: 0 })
            {
                problems.Add($"{file}:{bodyStart + 1}: unknown header key \"{key}\"; expected kind, unit, direction, description");
            }
            else if (allowed is not null && !allowed.Contains(value))
            {
                problems.Add($"{file}:{bodyStart + 1}: {key}: \"{value}\" is not one of {string.Join(", ", allowed)}");
            }
            else
            {
                header[key] = value;
            }
        }

        if (!header.ContainsKey("kind") && !problems.Any(p => p.Contains(" kind: ", StringComparison.Ordinal)))
        {
            problems.Add($"{file}: the header needs a \"# kind: ratio|latency|count|gauge\" line");
        }

        var body = string.Join('\n', lines[bodyStart..]).Trim();
        if (body.Length == 0)
        {
            problems.Add($"{file}: the template has no query after its header");
        }

        var placeholders = new List<string>();
        foreach (Match match in Placeholder().Matches(body))
        {
            var name = match.Groups[1].Value;
            var line = bodyStart + 1 + body[..match.Index].Count(c => c == '\n');
            if (!BuiltIns.Contains(name) && !variables.Contains(name))
            {
                problems.Add($"{file}:{line}: unknown placeholder {{{{{name}}}}}; known: {string.Join(", ", BuiltIns.Concat(variables).Order(StringComparer.Ordinal))}");
            }
            else if (name is not ("cohort" or "interval") && !InsideString(body, match.Index))
            {
                problems.Add($"{file}:{line}: {{{{{name}}}}} must stand inside a double-quoted string, e.g. label=\"{{{{{name}}}}}\", so its value cannot change the query");
            }

            if (!placeholders.Contains(name))
            {
                placeholders.Add(name);
            }
        }

        if (problems.Count > 0)
        {
            throw new TemplateException(problems);
        }

        return new QueryTemplate(Path.GetFileNameWithoutExtension(file), header, body, placeholders);
    }

    /// <summary>
    /// The query for one cohort. cohort is the label-matcher text for the cohort (built with
    /// <see cref="PromQl.Matcher"/>, or typed by the user); interval must be a PromQL duration;
    /// every other value is escaped into its string literal.
    /// </summary>
    public string Render(string cohort, string interval, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!PromQl.IsDuration(interval) || interval.Length == 0)
        {
            throw new ArgumentException($"interval: \"{interval}\" is not a PromQL duration such as 30s, 1m or 1h30m", nameof(interval));
        }

        var missing = Placeholders.Where(p => p is not ("cohort" or "interval") && !values.ContainsKey(p)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"{Name}: no value for {string.Join(", ", missing.Select(m => $"{{{{{m}}}}}"))}", nameof(values));
        }

        return Placeholder().Replace(Body, match => match.Groups[1].Value switch
        {
            "cohort" => cohort,
            "interval" => interval,
            var name => PromQl.EscapeString(values[name]),
        });
    }

    /// <summary>Whether position lies inside a double-quoted string of the PromQL text before it.</summary>
    private static bool InsideString(string text, int position)
    {
        var inside = false;
        for (var i = 0; i < position; i++)
        {
            if (text[i] == '\\' && inside)
            {
                i++;
            }
            else if (text[i] == '"')
            {
                inside = !inside;
            }
        }

        return inside;
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")]
    private static partial Regex Placeholder();
}

/// <summary>A query template that cannot be used; one problem per line, each naming the file.</summary>
internal sealed class TemplateException : Exception
{
    public TemplateException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems)) => Problems = problems;

    public TemplateException()
        : this([])
    {
    }

    public TemplateException(string message)
        : this([message])
    {
    }

    public TemplateException(string message, Exception innerException)
        : base(message, innerException) => Problems = [message];

    public IReadOnlyList<string> Problems { get; } = [];
}
