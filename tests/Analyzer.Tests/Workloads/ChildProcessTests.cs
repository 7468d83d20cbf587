using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Tests.Workloads;

public sealed class ChildProcessTests
{
    private readonly string folder = Directory.CreateTempSubdirectory("canary-child-").FullName;

    [Fact]
    public async Task Stopping_reaches_what_the_program_started_and_its_output_is_kept()
    {
        // A wrapper script that starts the real work in the background: both must stop.
        var seconds = Random.Shared.Next(10_000, 20_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(folder, "wrapper.sh"), $"echo started\nsleep {seconds} &\nsleep {seconds}\n");
        var child = ChildProcess.Start("wrapper", "/bin/sh", ["wrapper.sh"], folder, new Dictionary<string, string>(), Path.Combine(folder, "wrapper.log"));
        await Poll.UntilAsync(() => Processes.Matching($"sleep {seconds}").Count == 2, "both sleeps to run");
        Assert.True(child.Grouped);

        await child.StopAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.Empty(Processes.Matching($"sleep {seconds}"));
        Assert.True(child.HasExited);
        Assert.Equal("started", child.Tail());

        // After disposal it reads as exited and stops as a no-op, so a caller holding it cannot fail.
        await child.DisposeAsync();
        Assert.True(child.HasExited);
        Assert.Null(child.ExitCode);
        await child.StopAsync(TimeSpan.FromSeconds(1), TimeProvider.System);
    }

    [Fact]
    public void A_program_that_cannot_start_says_so()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            ChildProcess.Start("ghost", Path.Combine(folder, "no-such-program"), [], folder, new Dictionary<string, string>(), Path.Combine(folder, "ghost.log")));
        Assert.Contains("ghost: cannot start", error.Message, StringComparison.Ordinal);
    }
}
