using Canary.Analyzer.Documents;
using Canary.Judge.Config;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// Reads a canary config file (YAML, or JSON) and checks it with the templates it names. Every
/// problem is reported at once as "file:line field: reason".
/// </summary>
internal static class CanaryConfigReader
{
    private static readonly string[] TopFields = ["name", "namespace", "interval", "step", "variables", "judge", "metrics", "groupWeights", "thresholds"];
    private static readonly string[] QueryFields = ["template", "query", "kind", "unit", "pool", "edge"];
    private static readonly string[] HeaderFields = ["kind", "unit"];
    private static readonly string[] Kinds = ["ratio", "latency", "count", "gauge", "events", "histogram"];

    /// <exception cref="InputException">The file cannot be read, is malformed, or names an invalid field or template.</exception>
    public static CanaryConfig Load(string file, TemplateLibrary templates, IReadOnlyDictionary<string, string>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e is UnauthorizedAccessException ? "permission denied" : e.Message;
            throw new InputException($"{file}: cannot read: {reason}");
        }

        return Read(file, text, templates, variables);
    }

    /// <summary>Reads config text; source names it in messages. Variables given here (--var) are declared too.</summary>
    /// <exception cref="InputException">Malformed or invalid; one problem per line.</exception>
    public static CanaryConfig Read(string source, string text, TemplateLibrary templates, IReadOnlyDictionary<string, string>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(templates);
        // In the order of the file, so the list reads top to bottom; the template files' own problems follow.
        var (config, problems) = DocumentFields.ReadDocument(source, text, (root, fields, extra) =>
            ReadNode(root, string.Empty, fields, templates, variables ?? new Dictionary<string, string>(), extra));
        if (problems.Count > 0 || config is null)
        {
            throw new InputException(problems.Count > 0 ? problems : [$"{source}: document: must be an object"]);
        }

        return config with { Source = source };
    }

    /// <summary>
    /// Reads a canary config at path "at" of a larger document (a Canary resource's spec.analysis.config,
    /// or "" for a config file); problems go to fields, problems inside template files to templateProblems.
    /// </summary>
    internal static CanaryConfig? ReadNode(DocumentNode root, string at, DocumentFields fields, TemplateLibrary templates, IReadOnlyDictionary<string, string> overrides, List<string> templateProblems)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(overrides);
        ArgumentNullException.ThrowIfNull(templateProblems);
        if (!fields.Object(root, at, TopFields))
        {
            return null;
        }

        var variables = fields.StringMap(root, at, "variables");
        foreach (var (name, value) in overrides)
        {
            variables[name] = value;
        }

        foreach (var name in variables.Keys.Where(n => !PromQl.IsLabelName(n) || QueryTemplate.BuiltIns.Contains(n) && n != "namespace"))
        {
            fields.Problem(DocumentFields.Join(at, $"variables.{name}"), QueryTemplate.BuiltIns.Contains(name)
                ? $"{{{{{name}}}}} is filled by canary itself ({(name == "cohort" ? "--control and --experiment" : "--interval, or interval: in the config")})"
                : "a variable name is a word of letters, digits and _ that does not start with a digit");
        }

        var declared = variables.Keys.ToHashSet(StringComparer.Ordinal);
        var judgeMetrics = new List<MetricConfig>();
        var queries = new List<CanaryMetric>();
        foreach (var (node, path) in JudgeConfigReader.Metrics(root, at, fields))
        {
            if (!fields.Object(node, path, [.. JudgeConfigReader.MetricFields, .. QueryFields]))
            {
                continue;
            }

            var template = ReadQuery(node, path, fields, templates, declared, templateProblems, out var templateName);
            var metric = JudgeConfigReader.ReadMetric(node, path, fields, template is null ? null : Enum.Parse<Direction>(template.Direction, ignoreCase: true));
            // The template's kind decides the method: events and histogram are sequential (DESIGN, "Queries").
            metric = JudgeConfigReader.ReadMethod(node, path, fields, metric, template?.Sequential == true ? JudgeMethod.Sequential : JudgeMethod.MannWhitney);
            if (metric.Edge is not null && template is not null && template.Kind != "histogram")
            {
                fields.Problem(node["edge"]!, $"{path}.edge", "is only for a metric of a template of kind histogram");
            }

            judgeMetrics.Add(metric);
            if (template is not null)
            {
                queries.Add(new CanaryMetric(metric.Name, template, fields.Boolean(node, path, "pool", false), templateName));
            }
        }

        var judge = JudgeConfigReader.ReadRest(root, at, fields, judgeMetrics);
        var reported = fields.Problems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var problem in JudgeConfigValidator.Validate(judge))
        {
            // The validator names fields under "config." as in the Judge contract; a canary config has them at the top.
            var path = DocumentFields.Join(at, problem.Field.StartsWith("config.", StringComparison.Ordinal) ? problem.Field["config.".Length..] : problem.Field);
            if (!reported.Contains(path))
            {
                fields.Problem(path, problem.Message);
            }
        }

        var namespaceValue = fields.String(root, at, "namespace", string.Empty);
        var interval = Duration(root, at, fields, "interval", "1m");
        // The step defaults to the rate window, so consecutive samples of a sampled metric never share requests.
        var step = Duration(root, at, fields, "step", interval);
        var warnings = new List<string>();
        if (PromQl.TryParseDuration(step, out var stepSpan) && PromQl.TryParseDuration(interval, out var intervalSpan) && stepSpan < intervalSpan
            && queries.Any(q => !q.Template.Sequential && q.Template.Placeholders.Contains("interval")))
        {
            warnings.Add($"{DocumentFields.Join(at, "step")}: {step} is shorter than interval {interval}: each sample's rate() window overlaps the next one's, so the samples share requests and Mann-Whitney's error rate no longer holds; set step to {interval} or more (or use sequential templates of kind events or histogram)");
        }
        if (variables.TryGetValue("namespace", out var overridden))
        {
            namespaceValue = overridden;
            variables.Remove("namespace");
        }

        return new CanaryConfig
        {
            Source = string.Empty,
            Judge = judge,
            Metrics = queries,
            Namespace = namespaceValue.Length == 0 ? null : namespaceValue,
            Interval = interval,
            Step = step,
            Variables = variables,
            Warnings = warnings,
        };
    }

    private static QueryTemplate? ReadQuery(
        DocumentNode node, string path, DocumentFields fields, TemplateLibrary templates, IReadOnlySet<string> declared, List<string> templateProblems, out string? templateName)
    {
        templateName = fields.String(node, path, "template", string.Empty);
        var query = fields.String(node, path, "query", string.Empty);
        var name = fields.String(node, path, "name", "metric");
        if ((templateName.Length > 0) == (query.Length > 0))
        {
            fields.Problem(node, path, "needs exactly one of \"template\" (a file in queries/) and \"query\" (inline PromQL)");
            return null;
        }

        if (templateName.Length > 0)
        {
            foreach (var field in HeaderFields.Where(f => node[f] is not null))
            {
                fields.Problem(node[field]!, $"{path}.{field}", $"comes from the template's header; \"{field}\" goes with an inline \"query\"");
            }

            try
            {
                return templates.Load(templateName, declared);
            }
            catch (TemplateException e)
            {
                var line = node["template"]!.Line;
                fields.Problem($"{path}.template", e.Problems[0], line);
                templateProblems.AddRange(e.Problems.Skip(1));
                return null;
            }
        }

        templateName = null;
        var kind = fields.String(node, path, "kind", "gauge");
        if (!Kinds.Contains(kind))
        {
            fields.Problem(node["kind"]!, $"{path}.kind", $"\"{kind}\" is not one of {string.Join(", ", Kinds)}");
            return null;
        }

        var unit = fields.String(node, path, "unit", string.Empty);
        var header = $"# kind: {kind}\n" + (unit.Length > 0 ? $"# unit: {unit}\n" : string.Empty);
        try
        {
            return QueryTemplate.Parse(name, header + query, declared);
        }
        catch (TemplateException e)
        {
            foreach (var problem in e.Problems)
            {
                // "NAME:LINE: reason" from the template parser: the config's line says more than the query's.
                var reason = problem.StartsWith(name + ":", StringComparison.Ordinal) ? problem[(problem.IndexOf(": ", name.Length, StringComparison.Ordinal) + 2)..] : problem;
                fields.Problem(node["query"]!, $"{path}.query", reason);
            }

            return null;
        }
    }

    private static string Duration(DocumentNode root, string at, DocumentFields fields, string name, string fallback)
    {
        var value = fields.String(root, at, name, fallback);
        if (!PromQl.TryParseDuration(value, out _))
        {
            fields.Problem(DocumentFields.Join(at, name), $"\"{value}\" is not a PromQL duration such as 30s, 1m or 1h30m (above 0, at most 100y)");
            return fallback;
        }

        return value;
    }
}
