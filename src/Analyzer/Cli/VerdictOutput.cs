using System.Text;
using Canary.Analyzer.Documents;
using Canary.Judge.Results;

namespace Canary.Analyzer.Cli;

/// <summary>--format json|table, shared by the commands that print a verdict.</summary>
internal enum VerdictFormat
{
    Json,
    Table,
}

internal static class VerdictOutput
{
    public static VerdictFormat ParseFormat(string? value) => value switch
    {
        null or "json" => VerdictFormat.Json,
        "table" => VerdictFormat.Table,
        _ => throw new InputException($"--format: \"{value}\" is not one of json, table"),
    };

    public static async Task WriteAsync(VerdictFormat format, JudgeResult result, TextWriter stdout)
    {
        if (format == VerdictFormat.Table)
        {
            JudgeTableWriter.Write(stdout, result);
            return;
        }

        using var buffer = new MemoryStream();
        JudgeDocumentWriter.Write(buffer, result);
        await stdout.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }
}
