using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Cli;

/// <summary>`canary validate FILE`: checks a canary config (or a Canary resource) and the templates it names, without touching Prometheus.</summary>
internal static class ValidateCommand
{
    private const string Usage = "usage: canary validate FILE [--queries DIR] [--var key=value]...";

    public static async Task<int> RunAsync(string[] words, TextWriter stdout)
    {
        var line = CommandLine.Parse("validate", words, new HashSet<string> { "--help" }, new HashSet<string> { "--queries", "--var" });
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        if (line.Positional.Count != 1)
        {
            throw new InputException(line.Positional.Count == 0 ? $"FILE: missing; {Usage}" : $"{line.Positional[1]}: unexpected argument; {Usage}");
        }

        var settings = Settings.Load();
        var file = line.Positional[0];
        var templates = Settings.Templates(settings, line.Option("--queries"));
        if (IsCanaryResource(file))
        {
            var (resource, problems) = CanaryResourceReader.Read(file, await File.ReadAllTextAsync(file), templates);
            if (resource is null)
            {
                throw new InputException(problems);
            }

            var process = string.Empty;
            if (resource.ProcessFile is { } processFile)
            {
                // A local target: its process file is part of what must be right.
                var path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, processFile);
                var spec = Workloads.ProcessSpecReader.ReadFile(path);
                process = $", process revision {spec.Revision} ({Path.GetFileName(spec.Command[0])})";
            }

            var steps = resource.Rollout.Strategy == RolloutStrategy.Canary
                ? string.Join(" → ", resource.Rollout.StepWeights.Select(w => $"{w} %"))
                : $"{resource.Rollout.Iterations} iterations";
            await stdout.WriteLineAsync($"{file}: valid: Canary {resource.Key}, router {resource.Router}, {resource.Rollout.Strategy.ToString().ToLowerInvariant()} {steps}, every {TimeArguments.Format(resource.Interval)}{process}");
            foreach (var warning in resource.Config?.Warnings ?? [])
            {
                await stdout.WriteLineAsync($"{file}: warning: {warning}");
            }

            return ExitCodes.Done;
        }

        var config = CanaryConfigReader.Load(file, templates, AnalyzeCommand.ParseVariables(line.Options("--var")));
        var used = config.Metrics.Select(m => m.TemplateName ?? "inline").Distinct(StringComparer.Ordinal);
        await stdout.WriteLineAsync($"{config.Source}: valid: {config.Metrics.Count} metrics ({string.Join(", ", used)})");
        foreach (var warning in config.Warnings)
        {
            await stdout.WriteLineAsync($"{config.Source}: warning: {warning}");
        }

        return ExitCodes.Done;
    }

    /// <summary>A file whose top level says kind: Canary is a Canary resource; anything else is read as a canary config.</summary>
    private static bool IsCanaryResource(string file)
    {
        try
        {
            return File.ReadLines(file).Take(200).Any(l => l.TrimStart().StartsWith("kind:", StringComparison.Ordinal) && l.Trim() == "kind: Canary" && !l.StartsWith(' '))
                || File.ReadAllText(file).Contains("\"kind\": \"Canary\"", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
