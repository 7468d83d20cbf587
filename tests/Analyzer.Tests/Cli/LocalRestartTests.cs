using System.Globalization;
using System.Text.RegularExpressions;
using Canary.Analyzer.Cli.Demo;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>
/// `canary local` restarted or killed while users send requests through a real HAProxy: the
/// workloads outlive it, as pods outlive their controller, and the next start takes them over.
/// </summary>
public sealed class LocalRestartTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("canary-local-restart-").FullName;
    private readonly string marker = $"t{Guid.NewGuid():N}"[..12];
    private HaproxyServer haproxy = null!;

    public async Task InitializeAsync() => haproxy = await HaproxyServer.StartAsync();

    public async Task DisposeAsync()
    {
        await haproxy.DisposeAsync();
        Processes.KillMatching(marker);
        Processes.KillMatching(folder);
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task A_restart_of_canary_local_under_load_fails_no_request(string signal)
    {
        using var first = await StartServingAsync();
        using var load = new LoadGenerator(haproxy.Url, 50, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var loading = load.RunAsync(stop.Token);

        await StopAsync(first, signal);
        using var second = Start();
        await TicksAsync(second, 2);
        await stop.CancelAsync();
        await loading;

        Assert.True(load.Counts.Requests > 20, $"{load.Counts.Requests} requests");
        Assert.Equal(0, load.Counts.Failures);
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task The_next_canary_local_takes_over_the_running_primary_instead_of_starting_another(string signal)
    {
        using var first = await StartServingAsync();
        var pid = Assert.Single(Processes.Matching(marker));

        await StopAsync(first, signal);
        Assert.Equal([pid], Processes.Matching(marker));
        using var second = Start();
        await TicksAsync(second, 2);

        Assert.Contains("took over checkout-primary-", second.Output, StringComparison.Ordinal);
        Assert.Equal([pid], Processes.Matching(marker));
    }

    [Fact]
    public async Task Stop_workloads_stops_the_processes_a_killed_canary_local_left_running()
    {
        using var first = await StartServingAsync();
        await StopAsync(first, "KILL");
        Assert.Single(Processes.Matching(marker));

        var stopped = await CanaryRunner.RunProcessAsync("local", "--stop-workloads", "--state", State);
        Assert.Equal(0, stopped.ExitCode);
        Assert.Contains("stopped 1 process(es)", stopped.Stdout, StringComparison.Ordinal);
        Assert.Empty(Processes.Matching(marker));
    }

    [Fact]
    public async Task With_stop_workloads_canary_local_stops_its_processes_when_it_stops()
    {
        using var local = await StartServingAsync("--stop-workloads");
        await StopAsync(local, "TERM");
        Assert.Empty(Processes.Matching(marker));
    }

    private string State => Path.Combine(folder, "state");

    /// <summary>canary local with v1 serving behind HAProxy.</summary>
    private async Task<ExternalProcess> StartServingAsync(params string[] flags)
    {
        await File.WriteAllTextAsync(Path.Combine(folder, "checkout.process.yaml"), LocalFiles.SampleService($"v1-{marker}"));
        await File.WriteAllTextAsync(Path.Combine(folder, "checkout.canary.yaml"), LocalFiles.Canary(haproxy.Socket, "{interval: 1s}"));
        var local = Start(flags);
        using var users = new HttpClient { BaseAddress = haproxy.Url, Timeout = TimeSpan.FromSeconds(5) };
        await Poll.UntilAsync(async () =>
        {
            try
            {
                return await users.GetStringAsync(new Uri("/", UriKind.Relative)) == $"hello from v1-{marker}\n";
            }
            catch (HttpRequestException)
            {
                return local.HasExited ? throw new InvalidOperationException($"canary local exited:\n{local.Output}") : false;
            }
        }, "v1 to serve behind HAProxy");
        return local;
    }

    private ExternalProcess Start(params string[] flags) =>
        ExternalProcess.Start(Path.Combine(AppContext.BaseDirectory, "canary"),
            ["local", Path.Combine(folder, "checkout.canary.yaml"), "--prometheus", "http://127.0.0.1:9", "--state", State, "--store", $"sqlite:{Path.Combine(folder, "canary.db")}", .. flags],
            folder);

    private static async Task StopAsync(ExternalProcess local, string signal)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", local.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var code = await local.ExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(signal == "KILL" ? 137 : 0, code);
    }

    /// <summary>Waits until canary local has logged count ticks of the rollout (lines such as "rollout shop/checkout: Initialized at 0 %: …").</summary>
    private static Task TicksAsync(ExternalProcess local, int count) =>
        Poll.UntilAsync(() => local.HasExited ? throw new InvalidOperationException($"canary local exited:\n{local.Output}")
            : Regex.Count(local.Output, @"rollout shop/checkout: [A-Za-z]+ at [0-9]+ %") >= count, $"{count} ticks after the restart");
}
