using System.Diagnostics;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>A fault canary does not anticipate (here: standard output on a full device) ends in one line on stderr and exit 70, never a stack trace.</summary>
public sealed class InternalErrorTests
{
    [Fact]
    public async Task An_unexpected_fault_exits_70_with_one_line()
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-c", "exec dotnet \"$@\" > /dev/full", "bash", "exec", Path.Combine(AppContext.BaseDirectory, "canary.dll"), "judge", CanaryRunner.Example("checkout.json") })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(deadline.Token);

        Assert.Equal(70, process.ExitCode);
        Assert.Equal(
            ["canary: internal error (IOException): No space left on device; please report it with the command line that caused it"],
            (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
