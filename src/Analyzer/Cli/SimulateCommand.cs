using System.Globalization;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Simulation;

namespace Canary.Analyzer.Cli;

/// <summary>`canary simulate`: a seeded study of how often each rule rolls back, on simulated traffic through the real state machine and Judge (docs/STATISTICS.md).</summary>
internal static class SimulateCommand
{
    private const string Usage = "usage: canary simulate [--scenarios FILE] [--rollouts N] [--seed S] [--rules LIST] [--format table|json]";

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("simulate", words, new HashSet<string> { "--help" }, new HashSet<string> { "--scenarios", "--rollouts", "--seed", "--rules", "--format" });
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        if (line.Positional.Count > 0)
        {
            throw new InputException($"{line.Positional[0]}: unexpected argument; {Usage}");
        }

        var format = VerdictOutput.ParseFormat(line.Option("--format"));
        var plan = line.Option("--scenarios") is { } file ? ScenarioReader.Read(file, await ReadAsync(file, cancellationToken)) : ScenarioReader.Default();
        var settings = plan.Settings;
        if (line.Option("--rollouts") is { } rollouts)
        {
            settings = settings with { Rollouts = Whole("--rollouts", rollouts, 1, ScenarioReader.MaxRollouts) };
        }

        if (line.Option("--seed") is { } seed)
        {
            settings = settings with { Seed = (ulong)Whole("--seed", seed, 0, int.MaxValue) };
        }

        if (line.Option("--rules") is { } rules)
        {
            var names = rules.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
            var unknown = names.Where(n => !SimulationRules.All.Contains(n)).ToList();
            if (names.Count == 0 || unknown.Count > 0)
            {
                throw new InputException($"--rules: {(unknown.Count > 0 ? $"\"{unknown[0]}\" is" : "no rule is")} not one of {string.Join(", ", SimulationRules.All)}");
            }

            settings = settings with { Rules = names };
        }

        plan = plan with { Settings = settings };
        var results = await Study.RunAsync(plan, TemplateLibrary.Default(), cancellationToken);
        await stdout.WriteAsync(format == VerdictFormat.Table ? StudyOutput.Table(plan, results) : StudyOutput.Json(plan, results) + "\n");
        return ExitCodes.Done;
    }

    private static async Task<string> ReadAsync(string file, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(file, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"--scenarios: cannot read {file}: {e.Message}");
        }
    }

    private static int Whole(string option, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new InputException($"{option}: \"{text}\" is not a whole number from {min} to {max}");
}
