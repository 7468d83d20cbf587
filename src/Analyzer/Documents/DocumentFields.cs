using System.Globalization;

namespace Canary.Analyzer.Documents;

/// <summary>One problem of a document: the 1-based line (0 when unknown), the field's path and the reason; syntax errors also have a column, and "$" as the path of the document itself.</summary>
internal sealed record DocumentProblem(int Line, string Path, string Reason)
{
    /// <summary>The 1-based column (0 when unknown).</summary>
    public int Column { get; init; }

    /// <summary>"checkout.yaml:14 metrics[2].direction: reason", "c.json:2:13 config.metrics: malformed JSON: …", or "file: path: reason" without a line.</summary>
    public string Format(string file)
    {
        var at = Line > 0 ? (Column > 0 ? $"{file}:{Line}:{Column}" : $"{file}:{Line}") : $"{file}:";
        return Path == "$" ? $"{at}{(Line > 0 ? ":" : string.Empty)} {Reason}" : $"{at} {Path}: {Reason}";
    }

    public override string ToString() => Line > 0 ? $"line {Line} {Path}: {Reason}" : $"{Path}: {Reason}";
}

/// <summary>
/// Reads typed fields from a document tree and collects every problem with its line and path, so a
/// user sees all mistakes of a document at once instead of one per run.
/// </summary>
internal sealed class DocumentFields
{
    private const int MaxProblems = 50;
    private readonly Dictionary<string, int> lines = new(StringComparer.Ordinal);

    public List<DocumentProblem> Problems { get; } = [];

    /// <summary>
    /// Parses text (JSON when source ends in .json, else YAML) and reads it with read. The problems
    /// come as "source:line path: reason" in file order, then the ones read added itself (e.g. of
    /// template files); the value is null whenever there is a problem.
    /// </summary>
    public static (T? Value, List<string> Problems) ReadDocument<T>(string source, string text, Func<DocumentNode, DocumentFields, List<string>, T?> read)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(read);
        DocumentNode root;
        try
        {
            root = DocumentNode.Parse(text, json: source.EndsWith(".json", StringComparison.OrdinalIgnoreCase));
        }
        catch (DocumentException e)
        {
            return (null, [e.ToProblem().Format(source)]);
        }

        var fields = new DocumentFields();
        var extra = new List<string>();
        var value = read(root, fields, extra);
        var problems = fields.Problems.OrderBy(p => p.Line).Select(p => p.Format(source)).Concat(extra).ToList();
        return (problems.Count == 0 ? value : null, problems);
    }

    public void Problem(string path, string reason, int line = 0)
    {
        if (Problems.Count < MaxProblems)
        {
            Problems.Add(new(line > 0 ? line : LineOf(path), path.Length == 0 ? "document" : path, reason));
        }
    }

    /// <summary>Turns reader offsets into lines for <see cref="ProblemAt"/>.</summary>
    public LineCounter? Lines { get; init; }

    /// <summary>A problem at a byte offset of the document being streamed.</summary>
    public void ProblemAt(long offset, string path, string reason) => Problem(path, reason, Lines?.LineOf(offset) ?? 0);

    public void Problem(DocumentNode node, string path, string reason) => Problem(path, reason, node.Line);

    /// <summary>The line of the nearest field along path that was read, for problems found after reading.</summary>
    public int LineOf(string path)
    {
        while (path.Length > 0)
        {
            if (lines.TryGetValue(path, out var line))
            {
                return line;
            }

            var cut = path.LastIndexOfAny(['.', '[']);
            path = cut > 0 ? path[..cut] : string.Empty;
        }

        return lines.GetValueOrDefault(string.Empty);
    }

    /// <summary>Records the node's line for its path, so later problems about the path can name it.</summary>
    public DocumentNode Seen(DocumentNode node, string path)
    {
        lines.TryAdd(path, node.Line);
        return node;
    }

    /// <summary>True when node is an object; otherwise records the problem. Unknown members are problems too.</summary>
    public bool Object(DocumentNode node, string path, params string[] known)
    {
        Seen(node, path);
        if (node.Kind != NodeKind.Mapping)
        {
            Problem(node, path, $"must be an object, got {node.Describe()}");
            return false;
        }

        foreach (var (name, value) in node.Members)
        {
            if (Array.IndexOf(known, name) < 0)
            {
                Problem(value, Join(path, name), $"unknown field; expected one of {string.Join(", ", known)}");
            }
        }

        return true;
    }

    /// <summary>The member's node unless it is missing or null; its line is remembered under its path.</summary>
    public DocumentNode? Get(DocumentNode obj, string path, string name)
    {
        var value = obj[name];
        return value is null || value.IsNull ? null : Seen(value, Join(path, name));
    }

    public string String(DocumentNode obj, string path, string name, string fallback)
    {
        if (Get(obj, path, name) is not { } value)
        {
            return fallback;
        }

        if (value.Kind != NodeKind.String)
        {
            Problem(value, Join(path, name), $"must be a string, got {value.Describe()}");
            return fallback;
        }

        return value.Text;
    }

    public double Number(DocumentNode obj, string path, string name, double fallback)
    {
        if (Get(obj, path, name) is not { } value)
        {
            return fallback;
        }

        return Number(value, Join(path, name), fallback);
    }

    public double Number(DocumentNode value, string path, double fallback)
    {
        if (!value.TryGetNumber(out var number) || !double.IsFinite(number))
        {
            Problem(value, path, $"must be a finite number, got {value.Describe()}");
            return fallback;
        }

        return number;
    }

    public bool Boolean(DocumentNode obj, string path, string name, bool fallback)
    {
        if (Get(obj, path, name) is not { } value)
        {
            return fallback;
        }

        if (value.Kind != NodeKind.Boolean)
        {
            Problem(value, Join(path, name), $"must be true or false, got {value.Describe()}");
            return fallback;
        }

        return value.Text == "true" || value.Text == "True" || value.Text == "TRUE";
    }

    /// <summary>An enum written in camelCase ("meanRatio", "increase"); matching ignores case.</summary>
    public TEnum Enum<TEnum>(DocumentNode obj, string path, string name, TEnum fallback)
        where TEnum : struct, Enum
    {
        if (Get(obj, path, name) is not { } value)
        {
            return fallback;
        }

        if (value.Kind == NodeKind.String && value.Text.Length > 0 && !char.IsDigit(value.Text[0])
            && System.Enum.TryParse<TEnum>(value.Text, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed))
        {
            return parsed;
        }

        var allowed = System.Enum.GetNames<TEnum>().Select(CamelCase);
        Problem(value, Join(path, name), $"{value.Describe()} is not one of {string.Join(", ", allowed)}");
        return fallback;
    }

    /// <summary>An object of name to string (variables, headers); each value must be a scalar.</summary>
    public Dictionary<string, string> StringMap(DocumentNode obj, string path, string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Get(obj, path, name) is not { } node)
        {
            return map;
        }

        path = Join(path, name);
        if (node.Kind != NodeKind.Mapping)
        {
            Problem(node, path, $"must be an object of name to value, got {node.Describe()}");
            return map;
        }

        foreach (var (key, value) in node.Members)
        {
            if (value.Kind is NodeKind.Mapping or NodeKind.Sequence or NodeKind.Null)
            {
                Problem(value, Join(path, key), $"must be a string, got {value.Describe()}");
                continue;
            }

            map[key] = value.Text;
        }

        return map;
    }

    public static string CamelCase(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    public static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
