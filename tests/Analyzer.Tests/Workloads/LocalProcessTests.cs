using System.Globalization;
using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Tests.Workloads;

public sealed class LocalProcessTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("canary-child-").FullName;
    private readonly string seconds = Random.Shared.Next(10_000, 20_000).ToString(CultureInfo.InvariantCulture);

    public void Dispose() => Processes.KillMatching($"sleep {seconds}");

    [Fact]
    public async Task Stopping_reaches_what_the_program_started()
    {
        // A wrapper script that starts the real work in the background: both must stop.
        var child = StartWrapper();
        await Poll.UntilAsync(() => Processes.Matching($"sleep {seconds}").Count == 2, "both sleeps to run");

        await child.StopAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.Empty(Processes.Matching($"sleep {seconds}"));
        Assert.True(child.HasExited);
    }

    [Fact]
    public async Task Its_output_goes_to_its_log_file_not_to_canary()
    {
        var child = StartWrapper();
        await Poll.UntilAsync(() => child.Tail() == "started", "the output in the log");
        // stdin is /dev/null and stdout, stderr the log: nothing ties it to canary's pipes, so it outlives canary.
        var descriptors = Enumerable.Range(0, 3).Select(fd => new FileInfo($"/proc/{child.Id}/fd/{fd}").LinkTarget).ToList();
        Assert.Equal(["/dev/null", child.LogPath, child.LogPath], descriptors);
        await child.StopAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
    }

    [Fact]
    public async Task A_running_process_is_taken_over_by_its_identity()
    {
        var child = StartWrapper();
        var adopted = LocalProcess.Adopt("wrapper", child.Identity, child.LogPath);
        Assert.NotNull(adopted);
        Assert.False(adopted.HasExited);

        await adopted.StopAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.Empty(Processes.Matching($"sleep {seconds}"));
        Assert.True(adopted.HasExited);
    }

    [Fact]
    public async Task A_pid_with_another_start_time_is_never_taken_for_the_recorded_process()
    {
        var child = StartWrapper();
        // The same pid, started at another time: a recycled pid.
        var recycled = child.Identity with { StartTicks = child.Identity.StartTicks - 1 };
        Assert.Null(LocalProcess.Adopt("wrapper", recycled, child.LogPath));
        await child.StopAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
    }

    [Fact]
    public void A_program_that_cannot_start_says_so()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            LocalProcess.Start("ghost", Path.Combine(folder, "no-such-program"), [], folder, new Dictionary<string, string>(), Path.Combine(folder, "ghost.log")));
        Assert.Contains("ghost: cannot start", error.Message, StringComparison.Ordinal);
    }

    private LocalProcess StartWrapper()
    {
        File.WriteAllText(Path.Combine(folder, "wrapper.sh"), $"echo started\nsleep {seconds} &\nsleep {seconds}\n");
        return LocalProcess.Start("wrapper", "/bin/sh", ["wrapper.sh"], folder, new Dictionary<string, string>(), Path.Combine(folder, "wrapper.log"));
    }
}
