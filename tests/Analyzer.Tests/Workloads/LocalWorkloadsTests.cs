using Canary.Analyzer.Cli;
using Canary.Analyzer.Documents;
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
    public async Task A_release_behind_HAProxy_is_promoted_without_a_failed_request()
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
    public async Task A_canary_that_keeps_crashing_is_Failed()
    {
        await using var workloads = New();
        var processFile = WriteProcessFile("v1");
        var target = Register(workloads, processFile);
        await workloads.InitializeAsync(target, CancellationToken.None);

        // Exits at once: restarted with a growing back-off, then Failed after three restarts (Kubernetes: CrashLoopBackOff), long before the deadline.
        File.WriteAllText(processFile, "command: [/bin/false]\n");
        await workloads.ScaleCanaryAsync(target, null, CancellationToken.None, wait: false);
        await Poll.UntilAsync(async () => (await workloads.StatusAsync(target, CancellationToken.None)).Canary == WorkloadReadiness.Failed, "the crashing canary is Failed");
    }

    [Fact]
    public async Task A_canary_that_never_answers_its_probe_is_Failed_after_the_progress_deadline()
    {
        await using var workloads = New();
        var processFile = WriteProcessFile("v1");
        var target = Register(workloads, processFile) with { ProgressDeadline = TimeSpan.FromSeconds(3) };
        await workloads.InitializeAsync(target, CancellationToken.None);

        File.WriteAllText(processFile, "command: [/bin/sleep, '300']\nreadinessProbe: {period: 1s}\n");
        await workloads.ScaleCanaryAsync(target, null, CancellationToken.None, wait: false);
        Assert.Equal(WorkloadReadiness.NotReady, (await workloads.StatusAsync(target, CancellationToken.None)).Canary);
        var error = await Assert.ThrowsAsync<WorkloadNotReadyException>(() => workloads.ScaleCanaryAsync(target, null, CancellationToken.None));
        Assert.Contains("the canary of shop/checkout was not ready within 00:00:03", error.Message, StringComparison.Ordinal);
        Assert.Equal(WorkloadReadiness.Failed, (await workloads.StatusAsync(target, CancellationToken.None)).Canary);
    }

    [Fact]
    public async Task A_rollback_while_promoting_keeps_the_primary()
    {
        await using var workloads = New();
        var processFile = WriteProcessFile("v1");
        var target = Register(workloads, processFile) with { ProgressDeadline = TimeSpan.FromSeconds(3) };
        var v1 = (await workloads.InitializeAsync(target, CancellationToken.None)).Revision;
        File.WriteAllText(processFile, "command: [/bin/sleep, '300']\nreadinessProbe: {period: 1s}\n");
        var sleeping = ProcessSpecReader.ReadFile(processFile).Revision;

        // The next primary never gets ready, so the primary is Failed while v1 keeps the slot;
        // the rollback (canary to zero) abandons the promotion and v1 stays the primary.
        await workloads.PromoteAsync(target, sleeping, CancellationToken.None, wait: false);
        Assert.Equal((WorkloadReadiness.NotReady, v1), await workloads.StatusAsync(target, CancellationToken.None) is var promoting ? (promoting.Primary, promoting.PrimaryRevision) : default);
        await Poll.UntilAsync(async () => (await workloads.StatusAsync(target, CancellationToken.None)).Primary == WorkloadReadiness.Failed, "the next primary is Failed");
        await workloads.ScaleCanaryToZeroAsync(target, CancellationToken.None);
        Assert.Equal(new WorkloadStatus(sleeping, WorkloadReadiness.Missing, WorkloadReadiness.Ready, v1), await workloads.StatusAsync(target, CancellationToken.None));
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    [Fact]
    public async Task A_process_file_that_moved_on_after_the_analysis_is_not_promoted()
    {
        await using var workloads = New();
        var processFile = WriteProcessFile("v1");
        var target = Register(workloads, processFile);
        var v1 = (await workloads.InitializeAsync(target, CancellationToken.None)).Revision;
        var analysed = ProcessSpecReader.ReadFile(WriteProcessFile("v2")).Revision;

        WriteProcessFile("v3");
        await Assert.ThrowsAsync<RevisionChangedException>(() => workloads.PromoteAsync(target, analysed, CancellationToken.None));
        Assert.Equal(v1, (await workloads.StatusAsync(target, CancellationToken.None)).PrimaryRevision);
    }

    [Fact]
    public async Task Stopping_canary_leaves_the_processes_serving()
    {
        var processFile = WriteProcessFile("v1");
        var workloads = New(stopOnDispose: false);
        await workloads.InitializeAsync(Register(workloads, processFile), CancellationToken.None);
        var pid = Assert.Single(Processes.Matching($"v1-{marker}"));

        await workloads.DisposeAsync();
        Assert.Equal([pid], Processes.Matching($"v1-{marker}"));
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    [Fact]
    public async Task A_new_canary_takes_over_the_running_primary_without_starting_another()
    {
        var processFile = WriteProcessFile("v1");
        var first = New(stopOnDispose: false);
        var target = Register(first, processFile);
        var v1 = (await first.InitializeAsync(target, CancellationToken.None)).Revision;
        var pid = Assert.Single(Processes.Matching($"v1-{marker}"));
        await first.DisposeAsync();

        // The file has moved on meanwhile: the running primary is still the primary (as after a restart of a controller).
        WriteProcessFile("v2");
        await using var again = New();
        Register(again, processFile);
        await Poll.UntilAsync(async () => await again.StatusAsync(target, CancellationToken.None) is { Primary: WorkloadReadiness.Ready } status && status.PrimaryRevision == v1, "the primary to be taken over");
        Assert.Equal([pid], Processes.Matching(marker));
    }

    [Fact]
    public async Task The_promoted_primary_comes_back_after_its_processes_were_stopped()
    {
        var processFile = WriteProcessFile("v1");
        var first = New();
        var target = Register(first, processFile);
        var v1 = (await first.InitializeAsync(target, CancellationToken.None)).Revision;
        await first.DisposeAsync();
        Assert.Empty(Processes.Matching(marker));

        // What should run is kept: a new canary starts the promoted primary again, even if the file has moved on.
        WriteProcessFile("v2");
        await using var again = New();
        Register(again, processFile);
        await Poll.UntilAsync(async () => await again.StatusAsync(target, CancellationToken.None) is { Primary: WorkloadReadiness.Ready } status && status.PrimaryRevision == v1, "the primary is back");
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    [Fact]
    public async Task A_primary_that_dies_is_started_again_behind_HAProxy()
    {
        var processFile = WriteProcessFile("v1");
        await using var workloads = New();
        var target = Register(workloads, processFile);
        await workloads.InitializeAsync(target, CancellationToken.None);

        var pid = Assert.Single(Processes.Matching($"v1-{marker}"));
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        // The repair loop starts it again, with no call from the controller.
        await Poll.UntilAsync(() => Processes.Matching($"v1-{marker}") is [var other] && other != pid, "the primary runs again");
        await Poll.UntilAsync(async () => await workloads.StatusAsync(target, CancellationToken.None) is { Primary: WorkloadReadiness.Ready }, "the new primary to be ready");
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    [Fact]
    public async Task Reading_the_status_never_starts_a_process()
    {
        var processFile = WriteProcessFile("v1");
        var first = New();
        var target = Register(first, processFile);
        await first.InitializeAsync(target, CancellationToken.None);
        await first.DisposeAsync();

        // What should run says v1, and nothing runs; with the repair loop held, looking changes nothing.
        await using var again = new LocalWorkloads(new HaproxyRouter(TimeProvider.System), Path.Combine(folder, "state"), TimeProvider.System, NullLogger<LocalWorkloads>.Instance) { RepairPeriod = Timeout.InfiniteTimeSpan };
        Register(again, processFile);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(WorkloadReadiness.Missing, (await again.StatusAsync(target, CancellationToken.None)).Primary);
        }

        Assert.Empty(Processes.Matching(marker));
    }

    [Fact]
    public async Task Stop_on_dispose_stops_every_process()
    {
        var processFile = WriteProcessFile("v1");
        var workloads = New();
        var target = Register(workloads, processFile);
        await workloads.InitializeAsync(target, CancellationToken.None);
        WriteProcessFile("v2");
        await workloads.ScaleCanaryAsync(target, null, CancellationToken.None);
        Assert.Equal(2, Processes.Matching(marker).Count);

        await workloads.DisposeAsync();
        Assert.Empty(Processes.Matching(marker));
    }

    [Fact]
    public async Task The_processes_a_canary_left_running_are_stopped_from_their_state_folder()
    {
        var processFile = WriteProcessFile("v1");
        var workloads = New(stopOnDispose: false);
        var target = Register(workloads, processFile);
        await workloads.InitializeAsync(target, CancellationToken.None);
        WriteProcessFile("v2");
        await workloads.ScaleCanaryAsync(target, null, CancellationToken.None);
        await workloads.DisposeAsync();
        Assert.Equal(2, Processes.Matching(marker).Count);

        var (stopped, problems) = await LocalWorkloads.StopRecordedAsync(Path.Combine(folder, "state"), TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger.Instance);
        Assert.Equal(2, stopped.Count);
        Assert.Empty(problems);
        Assert.Empty(Processes.Matching(marker));
    }

    [Fact]
    public async Task A_process_record_that_cannot_be_read_stops_none_of_the_others()
    {
        var workloads = New(stopOnDispose: false);
        await workloads.InitializeAsync(Register(workloads, WriteProcessFile("v1")), CancellationToken.None);
        await workloads.DisposeAsync();
        File.WriteAllText(Path.Combine(folder, "state", "shop.broken.processes.json"), "{not json");

        var (stopped, problems) = await LocalWorkloads.StopRecordedAsync(Path.Combine(folder, "state"), TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger.Instance);
        Assert.Single(stopped);
        Assert.Contains("shop.broken.processes.json cannot be read", Assert.Single(problems), StringComparison.Ordinal);
        Assert.Empty(Processes.Matching(marker));
    }

    [Fact]
    public async Task A_second_canary_on_the_same_state_folder_is_refused()
    {
        await using var first = New();
        var error = Assert.Throws<InputException>(() => New());
        Assert.Contains("is in use by another canary local", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    private LocalWorkloads New(bool stopOnDispose = true) =>
        new(new HaproxyRouter(TimeProvider.System), Path.Combine(folder, "state"), TimeProvider.System, NullLogger<LocalWorkloads>.Instance) { StopOnDispose = stopOnDispose };

    private WorkloadTarget Register(LocalWorkloads workloads, string processFile)
    {
        workloads.Register("shop", "checkout", new LocalTarget(processFile, Routes()));
        return new WorkloadTarget("shop", "checkout") { ProgressDeadline = TimeSpan.FromSeconds(60) };
    }

    private RouterTarget Routes() => new("shop", "checkout") { RuntimeApi = haproxy.Socket };

    private string WriteProcessFile(string version)
    {
        var path = Path.Combine(folder, "checkout.process.yaml");
        File.WriteAllText(path, LocalFiles.SampleService($"{version}-{marker}"));
        return path;
    }
}
