using System.Text.RegularExpressions;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// A PromQL template from queries/NAME.promql: a header of "# key: value" lines (kind, unit,
/// direction, description) and a body with {{placeholders}}. {{cohort}} takes the label matchers
/// canary builds; {{interval}} a PromQL duration; every other placeholder a value that is escaped
/// into a string literal, so the template must put it inside double quotes. Templates of kind
/// events (two expressions, after "# events" and "# exposure" lines) and histogram (the _bucket
/// series by le) are sequential: they count with {{range}}, the window since the previous interval.
/// </summary>
internal sealed partial class QueryTemplate
{
    /// <summary>Placeholders every template may use without declaring them.</summary>
    public static readonly IReadOnlySet<string> BuiltIns = new HashSet<string>(StringComparer.Ordinal) { "namespace", "cohort", "interval", "range" };

    /// <summary>The kinds judged by the sequential test on per-interval counts.</summary>
    public static readonly IReadOnlySet<string> SequentialKinds = new HashSet<string>(StringComparer.Ordinal) { "events", "histogram" };

    private static readonly string[] Kinds = ["ratio", "latency", "count", "gauge", "events", "histogram"];
    private static readonly string[] Sections = ["events", "exposure"];
    private static readonly string[] Directions = ["increase", "decrease", "either"];

    private QueryTemplate(string name, IReadOnlyDictionary<string, string> header, string body, IReadOnlyList<string> placeholders, string? exposure)
    {
        Name = name;
        Header = header;
        Body = body;
        Placeholders = placeholders;
        Exposure = exposure;
    }

    public string Name { get; }

    public IReadOnlyDictionary<string, string> Header { get; }

    public string Body { get; }

    /// <summary>The distinct placeholders of the body, in order of first use.</summary>
    public IReadOnlyList<string> Placeholders { get; }

    public string Kind => Header["kind"];

    /// <summary>Judged by the sequential test (kind events or histogram).</summary>
    public bool Sequential => SequentialKinds.Contains(Kind);

    /// <summary>The exposure expression of a template of kind events (<see cref="Body"/> is its events expression), else null.</summary>
    public string? Exposure { get; }

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
        for (; bodyStart < lines.Length && lines[bodyStart].StartsWith('#') && !Sections.Contains(lines[bodyStart][1..].Trim()); bodyStart++)
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
            problems.Add($"{file}: the header needs a \"# kind: {string.Join('|', Kinds)}\" line");
        }

        var kind = header.GetValueOrDefault("kind");
        var (body, exposure) = SplitSections(file, lines, bodyStart, kind, problems);
        if (body.Length == 0 && kind != "events")
        {
            problems.Add($"{file}: the template has no query after its header");
        }

        var sequential = kind is not null && SequentialKinds.Contains(kind);
        var expressions = exposure is null ? body : body + "\n" + exposure;
        if (sequential && !Placeholder().Matches(expressions).Any(m => m.Groups[1].Value == "range"))
        {
            problems.Add($"{file}: a template of kind {kind} counts with increase(...[{{{{range}}}}]), the window since the previous interval; it has no {{{{range}}}}");
        }

        var placeholders = new List<string>();
        foreach (Match match in Placeholder().Matches(expressions))
        {
            var name = match.Groups[1].Value;
            var line = bodyStart + 1 + expressions[..match.Index].Count(c => c == '\n');
            if (!BuiltIns.Contains(name) && !variables.Contains(name))
            {
                problems.Add($"{file}:{line}: unknown placeholder {{{{{name}}}}}; known: {string.Join(", ", BuiltIns.Concat(variables).Order(StringComparer.Ordinal))}");
            }
            else if (name == "interval" && sequential)
            {
                problems.Add($"{file}:{line}: a template of kind {kind} counts over {{{{range}}}}, not {{{{interval}}}}");
            }
            else if (name == "range" && !sequential)
            {
                problems.Add($"{file}:{line}: {{{{range}}}} is for templates of kind events or histogram; a {kind ?? "sampled"} template takes rates over {{{{interval}}}}");
            }
            else if (name is not ("cohort" or "interval" or "range") && !InsideString(expressions, match.Index))
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

        return new QueryTemplate(Path.GetFileNameWithoutExtension(file), header, body, placeholders, exposure);
    }

    /// <summary>The query, or for kind events its "# events" and "# exposure" expressions; sections anywhere else are problems.</summary>
    private static (string Body, string? Exposure) SplitSections(string file, string[] lines, int bodyStart, string? kind, List<string> problems)
    {
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var current = string.Empty;
        sections[current] = [];
        for (var i = bodyStart; i < lines.Length; i++)
        {
            var marker = lines[i].StartsWith('#') ? lines[i][1..].Trim() : null;
            if (marker is not null && Sections.Contains(marker))
            {
                if (kind != "events")
                {
                    problems.Add($"{file}:{i + 1}: \"# {marker}\" sections are for templates of kind events");
                }
                else if (sections.ContainsKey(marker))
                {
                    problems.Add($"{file}:{i + 1}: a second \"# {marker}\" section");
                }

                current = marker;
                sections[current] = [];
                continue;
            }

            sections[current].Add(lines[i]);
        }

        string Text(string key) => sections.TryGetValue(key, out var part) ? string.Join('\n', part).Trim() : string.Empty;
        if (kind != "events")
        {
            return (Text(string.Empty), null);
        }

        if (Text(string.Empty).Length > 0)
        {
            problems.Add($"{file}: a template of kind events holds two expressions, each after its line \"# events\" or \"# exposure\", and nothing before them");
        }

        foreach (var section in Sections.Where(s => Text(s).Length == 0))
        {
            problems.Add($"{file}: a template of kind events needs a \"# {section}\" line followed by its expression");
        }

        return (Text("events"), Text("exposure"));
    }

    /// <summary>
    /// The query for one cohort. cohort is the label-matcher text for the cohort (built with
    /// <see cref="PromQl.Matcher"/>, or typed by the user); interval must be a PromQL duration;
    /// every other value is escaped into its string literal.
    /// </summary>
    public string Render(string cohort, string interval, IReadOnlyDictionary<string, string> values) => Render(Body, cohort, interval, values);

    /// <summary>The exposure expression of a template of kind events for one cohort; interval is the {{range}}.</summary>
    public string RenderExposure(string cohort, string interval, IReadOnlyDictionary<string, string> values) =>
        Render(Exposure ?? throw new InvalidOperationException($"{Name} is not of kind events"), cohort, interval, values);

    private string Render(string text, string cohort, string interval, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!PromQl.IsDuration(interval) || interval.Length == 0)
        {
            throw new ArgumentException($"{(Sequential ? "range" : "interval")}: \"{interval}\" is not a PromQL duration such as 30s, 1m or 1h30m", nameof(interval));
        }

        var missing = Placeholders.Where(p => p is not ("cohort" or "interval" or "range") && !values.ContainsKey(p)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"{Name}: no value for {string.Join(", ", missing.Select(m => $"{{{{{m}}}}}"))}", nameof(values));
        }

        return Placeholder().Replace(text, match => match.Groups[1].Value switch
        {
            "cohort" => cohort,
            "interval" or "range" => interval,
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
