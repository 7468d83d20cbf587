namespace Canary.Analyzer.Metrics;

/// <summary>
/// The folder of PromQL templates (queries/NAME.promql). By default the one next to the executable,
/// where the build copies the shipped templates; --queries DIR (or Canary:Queries) points elsewhere.
/// </summary>
public sealed class TemplateLibrary
{
    public TemplateLibrary(string directory) => Directory = Path.GetFullPath(directory);

    public string Directory { get; }

    public static TemplateLibrary Default() => new(Path.Combine(AppContext.BaseDirectory, "queries"));

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
        if (name.Length == 0 || name.AsSpan().IndexOfAny(['/', '\\']) >= 0 || name.StartsWith('.'))
        {
            throw new TemplateException($"\"{name}\" is not a template name: use the file name in {Directory} without .promql");
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
            var hint = known.Count == 0 ? $"the folder {Directory} has no templates (--queries DIR names another)" : $"known: {string.Join(", ", known)}";
            throw new TemplateException($"no template \"{name}\" in {Directory}; {hint}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TemplateException($"{file}: cannot read: {e.Message}");
        }

        return QueryTemplate.Parse(file, text, variables);
    }
}
