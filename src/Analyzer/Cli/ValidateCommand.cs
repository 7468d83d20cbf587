using Canary.Analyzer.Metrics;

namespace Canary.Analyzer.Cli;

/// <summary>`canary validate FILE`: checks a canary config and the templates it names, without touching Prometheus.</summary>
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
        var config = CanaryConfigReader.Load(line.Positional[0], Settings.Templates(settings, line.Option("--queries")), AnalyzeCommand.ParseVariables(line.Options("--var")));
        var templates = config.Metrics.Select(m => m.TemplateName ?? "inline").Distinct(StringComparer.Ordinal);
        await stdout.WriteLineAsync($"{config.Source}: valid: {config.Metrics.Count} metrics ({string.Join(", ", templates)})");
        return ExitCodes.Done;
    }
}
