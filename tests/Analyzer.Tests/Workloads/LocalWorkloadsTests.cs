using Canary.Analyzer.Cli;
using Canary.Analyzer.Cli.Demo;
using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Canary.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Canary.Analyzer.Tests.Workloads;

/// <summary>
/// Local workloads against the real HAProxy (Debian package) and real processes: the sample service
/// started from process files, health-checked, put behind HAProxy's server slots and promoted, with
/// traffic flowing through HAProxy the whole time.
/// </summary>
public sealed class LocalWorkloadsTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("canary-local-").FullName;
    private readonly string marker = $"t{Guid.NewGuid():N}"[..12];
    private HaproxyServer haproxy = null!;

    public async Task InitializeAsync() => haproxy = await HaproxyServer.StartAsync();

    public async Task DisposeAsync()
    {
        await haproxy.DisposeAsync();
        Processes.KillMatching(marker);
    }

    [Fact]
    public async Task A_release_is_started_checked_and_promoted_behind_HAProxy_without_a_failed_request()
    {
        var processFile = WriteProcessFile("v1");
        await using var workloads = New();
        var target = Register(workloads, processFile);
        var state = await workloads.InitializeAsync(target, CancellationToken.None);
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
        Assert.Equal(new WorkloadStatus(state.Revision, WorkloadReadiness.Missing, WorkloadReadiness.Ready, state.Revision), await workloads.StatusAsync(target, CancellationToken.None));

        // Steady load through HAProxy for the whole release: canary up, weights shifted, promoted, canary down.
        using var load = new LoadGenerator(haproxy.Url, 50, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var loading = load.RunAsync(stop.Token);
        processFile = WriteProcessFile("v2");
        var v2 = await workloads.RevisionAsync(target, CancellationToken.None);
        Assert.NotEqual(state.Revision, v2);
        await workloads.ScaleCanaryAsync(target, null, CancellationToken.None);
        Assert.Equal(new WorkloadStatus(v2, WorkloadReadiness.Ready, WorkloadReadiness.Ready, state.Revision), await workloads.StatusAsync(target, CancellationToken.None));
        var router = new HaproxyRouter(TimeProvider.System);
        var routes = Routes();
        foreach (var weight in new[] { 20, 50, 80 })
        {
            await router.SetRoutingAsync(routes, new Routing(weight), CancellationToken.None);
        }

        await workloads.PromoteAsync(target, v2, CancellationToken.None);
        Assert.Equal(new WorkloadStatus(v2, WorkloadReadiness.Ready, WorkloadReadiness.Ready, v2), await workloads.StatusAsync(target, CancellationToken.None));
        await router.SetRoutingAsync(routes, Routing.AllPrimary, CancellationToken.None);
        await workloads.ScaleCanaryToZeroAsync(target, CancellationToken.None);

        // The old primary and the canary are gone; only the new primary answers, and Prometheus's targets say so.
        await Poll.UntilAsync(() => Processes.Matching($"v1-{marker}").Count == 0 && Processes.Matching($"v2-{marker}").Count == 1, "v1 stopped and one v2 left");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"hello from v2-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
        }

        var targets = File.ReadAllText(Path.Combine(workloads.TargetsFolder, "shop.checkout.json"));
        Assert.Contains($"\"pod\": \"checkout-primary-{v2}-", targets, StringComparison.Ordinal);
        Assert.DoesNotContain(state.Revision, targets, StringComparison.Ordinal);

        await stop.CancelAsync();
        await loading;
        Assert.True(load.Counts.Requests > 50, $"{load.Counts.Requests} requests");
        Assert.Equal(0, load.Counts.Failures);
    }

    [Fact]
    public async Task Crashing_and_never_ready_processes_are_Failed_and_a_rollback_while_promoting_keeps_the_primary()
    {
        await using var workloads = New();
        var processFile = WriteProcessFile("v1");
        var target = Register(workloads, processFile);
        var v1 = (await workloads.InitializeAsync(target, CancellationToken.None)).Revision;

        // Exits at once: restarted with a growing back-off, then Failed after three restarts (Kubernetes: CrashLoopBackOff), long before the deadline.
        File.WriteAllText(processFile, "command: [/bin/false]\n");
        await workloads.ScaleCanaryAsync(target, null, CancellationToken.None, wait: false);
        await Poll.UntilAsync(async () => (await workloads.StatusAsync(target, CancellationToken.None)).Canary == WorkloadReadiness.Failed, "the crashing canary is Failed");

        // Runs but never answers its probe: NotReady, then Failed after the progress deadline.
        var hurried = target with { ProgressDeadline = TimeSpan.FromSeconds(3) };
        File.WriteAllText(processFile, "command: [/bin/sleep, '300']\nreadinessProbe: {period: 1s}\n");
        var sleeping = ProcessSpecReader.ReadFile(processFile).Revision;
        await workloads.ScaleCanaryAsync(hurried, null, CancellationToken.None, wait: false);
        Assert.Equal(WorkloadReadiness.NotReady, (await workloads.StatusAsync(hurried, CancellationToken.None)).Canary);
        var error = await Assert.ThrowsAsync<WorkloadNotReadyException>(() => workloads.ScaleCanaryAsync(hurried, null, CancellationToken.None));
        Assert.Contains("the canary of shop/checkout was not ready within 00:00:03", error.Message, StringComparison.Ordinal);
        Assert.Equal(WorkloadReadiness.Failed, (await workloads.StatusAsync(hurried, CancellationToken.None)).Canary);

        // Promoting it: the next primary never gets ready, so the primary is Failed while v1 keeps the slot;
        // the rollback (canary to zero) abandons the promotion and v1 stays the primary.
        await workloads.PromoteAsync(hurried, sleeping, CancellationToken.None, wait: false);
        Assert.Equal((WorkloadReadiness.NotReady, v1), await workloads.StatusAsync(hurried, CancellationToken.None) is var promoting ? (promoting.Primary, promoting.PrimaryRevision) : default);
        await Poll.UntilAsync(async () => (await workloads.StatusAsync(hurried, CancellationToken.None)).Primary == WorkloadReadiness.Failed, "the next primary is Failed");
        await workloads.ScaleCanaryToZeroAsync(hurried, CancellationToken.None);
        Assert.Equal(new WorkloadStatus(sleeping, WorkloadReadiness.Missing, WorkloadReadiness.Ready, v1), await workloads.StatusAsync(hurried, CancellationToken.None));
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));

        // The file moved on after the analysis: nothing is promoted.
        File.WriteAllText(processFile, "command: [/bin/sleep, '301']\n");
        await Assert.ThrowsAsync<RevisionChangedException>(() => workloads.PromoteAsync(target, sleeping, CancellationToken.None));
        Assert.Equal(v1, (await workloads.StatusAsync(target, CancellationToken.None)).PrimaryRevision);
    }

    [Fact]
    public async Task What_should_run_survives_a_restart_of_canary_and_a_primary_that_dies_is_started_again()
    {
        var processFile = WriteProcessFile("v1");
        var workloads = New();
        var target = Register(workloads, processFile);
        var v1 = (await workloads.InitializeAsync(target, CancellationToken.None)).Revision;
        await workloads.DisposeAsync();
        Assert.Empty(Processes.Matching(marker));

        // A new canary with the same state folder brings the promoted primary back, even if the file has moved on.
        WriteProcessFile("v2");
        await using var again = New();
        Register(again, processFile);
        await Poll.UntilAsync(async () => await again.StatusAsync(target, CancellationToken.None) is { Primary: WorkloadReadiness.Ready } status && status.PrimaryRevision == v1, "the primary is back");
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));

        // The primary is killed: the next look starts it again, and HAProxy's slot follows it.
        var pid = Assert.Single(Processes.Matching($"v1-{marker}"));
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        await Poll.UntilAsync(async () => await again.StatusAsync(target, CancellationToken.None) is { Primary: WorkloadReadiness.Ready } && Processes.Matching($"v1-{marker}") is [var other] && other != pid, "the primary runs again");
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    private LocalWorkloads New() => new(new HaproxyRouter(TimeProvider.System), Path.Combine(folder, "state"), TimeProvider.System, NullLogger<LocalWorkloads>.Instance);

    private WorkloadTarget Register(LocalWorkloads workloads, string processFile)
    {
        workloads.Register("shop", "checkout", new LocalTarget(processFile, Routes()));
        return new WorkloadTarget("shop", "checkout") { ProgressDeadline = TimeSpan.FromSeconds(60) };
    }

    private RouterTarget Routes() => new("shop", "checkout") { RuntimeApi = haproxy.Socket };

    private string WriteProcessFile(string version)
    {
        var path = Path.Combine(folder, "checkout.process.yaml");
        File.WriteAllText(path, $"command: [{Path.Combine(AppContext.BaseDirectory, "canary")}, sample-service, --port, \"{{port}}\", --version, {version}-{marker}]\nreadinessProbe: {{period: 200ms}}\n");
        return path;
    }
}
