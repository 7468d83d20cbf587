namespace Canary.Analyzer.Metrics;

/// <summary>
/// The folder of PromQL templates (queries/NAME.promql). By default the one next to the executable,
/// where the build copies the shipped templates; --queries DIR (or Canary:Queries) points elsewhere.
/// Messages name a template by its file name and say "the shipped templates" or "the --queries
/// folder", never the folder's path (an API caller has no business knowing where canary is installed).
/// </summary>
internal sealed class TemplateLibrary
{
    public TemplateLibrary(string directory)
        : this(directory, shipped: false)
    {
    }

    private TemplateLibrary(string directory, bool shipped)
    {
        Directory = Path.GetFullPath(directory);
        Shipped = shipped;
    }

    public string Directory { get; }

    /// <summary>The templates shipped next to the executable (not a --queries folder).</summary>
    public bool Shipped { get; }

    private string Where => Shipped ? "the shipped templates" : "the --queries folder";

    public static TemplateLibrary Default() => new(Path.Combine(AppContext.BaseDirectory, "queries"), shipped: true);

    /// <summary>The template names in the folder, sorted.</summary>
    public IReadOnlyList<string> Names() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*.promql").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Loads and checks one template by name against the declared variables.</summary>
    /// <exception cref="TemplateException">There is no such template, or it is invalid; each problem names the file.</exception>
    public QueryTemplate Load(string name, IReadOnlySet<string> variables)
    {
        ArgumentNullException.ThrowIfNull(name);
        // A file name of letters, digits, '-', '_' and '.', not starting with '.': nothing else reaches the file system.
        if (name.Length is 0 or > 100 || name.StartsWith('.') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new TemplateException($"\"{name}\" is not a template name: use a file name of {Where} without .promql");
        }

        var file = Path.Combine(Directory, name + ".promql");
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            var known = Names();
            var hint = known.Count == 0 ? $"{Where} has none (--queries DIR names another folder)" : $"known: {string.Join(", ", known)}";
            throw new TemplateException($"no template \"{name}\" in {Where}; {hint}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TemplateException($"{name}.promql ({Where}): cannot be read: {(e is UnauthorizedAccessException ? "permission denied" : "I/O error")}");
        }

        return QueryTemplate.Parse($"{name}.promql", text, variables);
    }
}
