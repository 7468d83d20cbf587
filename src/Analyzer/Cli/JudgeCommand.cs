using Canary.Analyzer.Judging;
using Canary.Judge;
using Canary.Judge.Results;

namespace Canary.Analyzer.Cli;

/// <summary>`canary judge FILE [--gate] [--format json|table]`: judges a Judge-contract document.</summary>
internal static class JudgeCommand
{
    private const string Usage = "usage: canary judge FILE [--gate] [--format json|table]   (FILE '-' reads stdin)";

    public static async Task<int> RunAsync(string[] words, TextReader stdin, TextWriter stdout)
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
        var bytes = await ReadInputAsync(file, stdin);
        var document = JudgeDocumentReader.Read(bytes, file);

        var result = CanaryJudge.Judge(document.Config, document.Series);
        await VerdictOutput.WriteAsync(format, result, stdout);
        return line.Has("--gate") && result.Classification != AnalysisClassification.Pass ? ExitCodes.GateFailed : ExitCodes.Done;
    }

    private static async Task<ReadOnlyMemory<byte>> ReadInputAsync(string file, TextReader stdin)
    {
        if (file == "-")
        {
            return System.Text.Encoding.UTF8.GetBytes(await stdin.ReadToEndAsync());
        }

        try
        {
            return await File.ReadAllBytesAsync(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => e.Message,
            };
            throw new InputException($"{file}: cannot read: {reason}");
        }
    }
}
