using Canary.Analyzer.Documents;
using Microsoft.Extensions.Configuration;
using Canary.Judge;
using Canary.Judge.Results;

namespace Canary.Analyzer.Cli;

/// <summary>`canary judge FILE [--gate] [--format json|table]`: judges a Judge-contract document.</summary>
internal static class JudgeCommand
{
    private const string Usage = "usage: canary judge FILE [--gate] [--format json|table]   (FILE '-' reads stdin)";

    public static async Task<int> RunAsync(string[] words, TextReader stdin, TextWriter stdout, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("judge", words, new HashSet<string> { "--gate", "--help" }, new HashSet<string> { "--format" });
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var format = VerdictOutput.ParseFormat(line.Option("--format"));
        if (line.Positional.Count != 1)
        {
            throw new InputException(line.Positional.Count == 0 ? $"FILE: missing; {Usage}" : $"{line.Positional[1]}: unexpected argument; {Usage}");
        }

        var file = line.Positional[0];
        long maxBytes;
        try
        {
            maxBytes = Settings.Load().GetValue("Judge:MaxInputBytes", JudgeInput.DefaultMaxBytes);
        }
        catch (InvalidOperationException)
        {
            throw new InputException("Judge:MaxInputBytes: is not a whole number of bytes");
        }

        if (maxBytes <= 0)
        {
            throw new InputException($"Judge:MaxInputBytes: {maxBytes} is not a positive number of bytes");
        }

        var bytes = await JudgeInput.ReadAsync(file, stdin, maxBytes, cancellationToken);
        var document = JudgeDocumentReader.Read(bytes, file);

        var result = CanaryJudge.Judge(document.Config, document.Series);
        await VerdictOutput.WriteAsync(format, result, stdout);
        return line.Has("--gate") && result.Classification != AnalysisClassification.Pass ? ExitCodes.GateFailed : ExitCodes.Done;
    }
}
