using System.Globalization;
using System.Net.Sockets;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Serving;
using Canary.Analyzer.Workloads;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Extensions.Logging;

namespace Canary.Analyzer.Cli.Demo;

/// <summary>The demo's timings: --fast for tests and a quick look, the default for watching it happen.</summary>
internal sealed record DemoPlan(string Interval, string Window, string WarmUp, int MinSamples, int Threshold, string StepWeights, double LoadRate, TimeSpan ReleaseTimeout, TimeSpan Baseline)
{
    // The metrics are sequential: each tick counts the requests since the previous one (Prometheus scrapes every second),
    // and the warm-up after a weight change leaves out the requests HAProxy was still moving.
    public static DemoPlan Fast { get; } = new("2s", "12s", "4s", 5, 2, "[20, 40, 60]", 80, TimeSpan.FromSeconds(75), TimeSpan.FromSeconds(4));

    public static DemoPlan Normal { get; } = new("5s", "30s", "10s", 10, 3, "[10, 25, 50, 75]", 50, TimeSpan.FromMinutes(6), TimeSpan.FromSeconds(15));
}

/// <summary>One run of the demo: owns every process it starts and stops them all when disposed.</summary>
internal sealed class DemoRun(DemoPlan plan, string work, string prometheusProgram, string haproxyProgram, TextWriter stdout, TimeProvider time) : IAsyncDisposable
{
    private const string Service = DemoFiles.Service;
    private readonly List<LocalProcess> infrastructure = [];
    private readonly Lock recording = new();
    private readonly Lock printing = new();
    private readonly long started = time.GetTimestamp();
    private IHost? rollouts;
    private IAnalysisStore? store;
    private Serilog.Core.Logger? logger;
    private DemoSummary? summary;
    private TaskCompletionSource? decided;
    private (string Phase, int Weight) last;

    private double Now => time.GetElapsedTime(started).TotalSeconds;

    public async Task<DemoSummary> RunAsync(CancellationToken cancellationToken)
    {
        var (frontendPort, prometheusPort) = (LocalProcess.FreePort(), LocalProcess.FreePort());
        var socket = Path.Combine(work, "haproxy.sock");
        if (socket.Length > 100)
        {
            // A unix socket path is at most 107 bytes.
            socket = Path.Combine(Path.GetTempPath(), $"canary-demo-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.sock");
        }

        var frontend = new Uri($"http://127.0.0.1:{frontendPort.ToString(CultureInfo.InvariantCulture)}/");
        summary = new DemoSummary { StartedAt = time.GetUtcNow(), Fast = plan == DemoPlan.Fast, Frontend = frontend.ToString(), LoadRate = plan.LoadRate };
        using var load = new LoadGenerator(frontend, plan.LoadRate, time);
        using var stopLoad = new CancellationTokenSource();
        Task? loading = null;
        // The log outlives the ticks, which end in the finally below.
        logger = new LoggerConfiguration().MinimumLevel.Information()
            .WriteTo.File(Path.Combine(work, "canary.log"), formatProvider: CultureInfo.InvariantCulture).CreateLogger();
        try
        {
            Print($"canary demo{(summary.Fast ? " --fast" : string.Empty)}: starting HAProxy, Prometheus and {Service} v1 (work folder {work})");
            await StartHaproxyAsync(socket, frontendPort, cancellationToken);
            var targets = Path.Combine(work, "state", "targets");
            await StartPrometheusAsync(prometheusPort, targets, cancellationToken);
            Print($"  HAProxy frontend  {frontend}  (curl it while the demo runs)");
            Print($"  Prometheus        http://127.0.0.1:{prometheusPort}/  (e.g. sum by (pod) (rate(http_requests_total[5s])))");

            var processFile = Path.Combine(work, $"{Service}.process.yaml");
            var canaryFile = Path.Combine(work, $"{Service}.canary.yaml");
            await DemoFiles.WriteProcessFileAsync(processFile, "v1", string.Empty);
            await File.WriteAllTextAsync(canaryFile, DemoFiles.Canary(plan, socket), CancellationToken.None);

            store = StoreLocation.Open($"sqlite:{Path.Combine(work, "canary.db")}");
            await store.MigrateAsync(cancellationToken);
            var initialized = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var local = new LocalRolloutOptions([canaryFile], Path.Combine(work, "state"))
            {
                StopWorkloads = true,
                Ticked = tick =>
                {
                    if (tick.Result.Decision.State.Phase == RolloutPhase.Initialized)
                    {
                        initialized.TrySetResult();
                    }

                    OnTick(tick);
                },
            };
            if (LocalCanaryFiles.Validate(local.CanaryFiles, TemplateLibrary.Default()) is { Count: > 0 } problems)
            {
                throw new InvalidOperationException($"the demo's Canary file is invalid: {string.Join("; ", problems)}");
            }

            // The same composition as canary local, without the web API.
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = work });
            builder.Services.AddSerilog(logger, dispose: false);
            builder.Services.AddRollouts(new RolloutHostOptions(store, TemplateLibrary.Default(), new PrometheusOptions { Url = new Uri($"http://127.0.0.1:{prometheusPort}/") }) { Time = time })
                .AddLocalRollouts(local);
            rollouts = builder.Build();
            await rollouts.StartAsync(cancellationToken);
            await WaitAsync(initialized.Task, plan.ReleaseTimeout, "v1 to start behind HAProxy", cancellationToken);
            Print($"  {Service} v1 is the primary; load: {plan.LoadRate} requests/s through HAProxy");
            loading = load.RunAsync(stopLoad.Token);
            await Task.Delay(plan.Baseline, time, cancellationToken);

            await ReleaseAsync(processFile, "v2", string.Empty, "healthy: same code path, no errors", "promoted", cancellationToken);
            await ReleaseAsync(processFile, "v3", "--error-rate 0.05 --latency 50ms", "faulty: 5 % errors and +50 ms latency", "rolled back", cancellationToken);

            // A little traffic after the rollback shows that users are back on the primary.
            await Task.Delay(plan.Baseline, time, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            summary.Interrupted = true;
            Print("interrupted: stopping every process");
        }
        catch (TimeoutException e)
        {
            Print($"gave up: {e.Message}");
        }
        finally
        {
            await stopLoad.CancelAsync();
            try
            {
                await (loading ?? Task.CompletedTask);
            }
            finally
            {
                if (rollouts is not null)
                {
                    await rollouts.StopAsync(CancellationToken.None);
                }

                summary.Load = load.Counts;
                summary.FinishedAt = time.GetUtcNow();
            }
        }

        var counts = summary.Load;
        Print($"load: {counts.Requests} requests, {counts.Failures} failed: {counts.InjectedFailures} injected by the faulty release, {counts.OtherFailures} other"
            + (counts.OtherFailures == 0 ? " (weight shifts were invisible to users)" : $" ({string.Join(", ", counts.OtherFailureReasons.Select(r => $"{r.Key}: {r.Value}"))})"));
        return summary;
    }

    /// <summary>Stops the sample service's processes, then HAProxy and Prometheus, whatever failed before.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (rollouts is IAsyncDisposable host)
            {
                // The sample service's processes stop with it (StopWorkloads).
                await host.DisposeAsync();
            }
        }
        finally
        {
            try
            {
                await Task.WhenAll(infrastructure.Select(p => p.StopAsync(TimeSpan.FromSeconds(10), time)));
            }
            finally
            {
                if (store is not null)
                {
                    await store.DisposeAsync();
                }

                logger?.Dispose();
            }
        }
    }

    private async Task ReleaseAsync(string processFile, string version, string flags, string description, string expected, CancellationToken cancellationToken)
    {
        var revision = await DemoFiles.WriteProcessFileAsync(processFile, version, flags);
        var release = new DemoRelease(version, description, revision, expected) { StartedAt = Math.Round(Now, 1) };
        decided = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (recording)
        {
            summary!.Releases.Add(release);
        }

        Print($"release {version} ({description}), revision {revision}: edited {Path.GetFileName(processFile)}");
        await WaitAsync(decided.Task, plan.ReleaseTimeout, $"the release of {version} to be decided", cancellationToken);
    }

    private void OnTick(LocalTick tick)
    {
        lock (recording)
        {
            var at = Now;
            var release = summary!.Releases.LastOrDefault();
            var state = tick.Result.Decision.State;
            if (release is null || state.Revision != release.Revision)
            {
                return;
            }

            var before = release.DecidedAt;
            summary.Record(tick, at);
            if (tick.Result.Analysis is { } analysis)
            {
                var failing = release.Analyses[^1].FailingMetrics;
                Print($"{at,7:0.0}s  analysis at {release.Analyses[^1].Weight,3} %: {(analysis.Outcome.Score is { } score ? $"score {score:0.#}" : "no score")} {analysis.Outcome.Verdict}"
                    + (failing.Count == 0 ? string.Empty : $"; failing: {string.Join(", ", failing.Select(m => m.MeanRatio is { } r ? $"{m.Name} ({m.Classification}, ×{r:0.##})" : $"{m.Name} ({m.Classification})"))}")
                    + (analysis.Outcome.Verdict is AnalysisVerdict.Inconclusive ? $" ({analysis.Outcome.Reason})" : string.Empty));
            }

            if ((state.Phase.ToString(), state.CanaryWeight) != last && before is null)
            {
                last = (state.Phase.ToString(), state.CanaryWeight);
                Print($"{at,7:0.0}s  {state.Phase}, canary weight {state.CanaryWeight} %: {tick.Result.Decision.Reason}");
            }

            if (before is null && release.DecidedAt is not null)
            {
                Print($"{at,7:0.0}s  {release.Name} {release.Outcome.ToUpperInvariant()}");
                decided?.TrySetResult();
            }
        }
    }

    private async Task StartHaproxyAsync(string socket, int frontendPort, CancellationToken cancellationToken)
    {
        var config = Path.Combine(work, "haproxy.cfg");
        // Placeholder addresses: canary points each server at its process once that process is ready.
        await File.WriteAllTextAsync(config, $"""
            # canary demo: HAProxy in front of the sample service. canary moves weight between the two
            # servers and points them at new processes through the runtime API; it never reloads HAProxy.
            global
                stats socket {socket} mode 600 level admin
            defaults
                mode http
                timeout connect 2s
                timeout client 30s
                timeout server 30s
                # One request per server connection: a process that is retired is never sent a request on an idle connection.
                option http-server-close
                # A connection refused by a process that is stopping is retried on the other server, never shown to users.
                retries 3
                retry-on conn-failure empty-response
                option redispatch
            frontend web
                bind 127.0.0.1:{frontendPort}
                default_backend {Service}
            backend {Service}
                balance roundrobin
                server primary 127.0.0.1:9 weight 100
                server canary 127.0.0.1:9 weight 0

            """, CancellationToken.None);
        var process = Start("haproxy", haproxyProgram, ["-f", config, "-db"]);
        await PollAsync("HAProxy's runtime API", process, async () =>
        {
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, cancellationToken);
    }

    private async Task StartPrometheusAsync(int port, string targets, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(targets);
        var config = Path.Combine(work, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            # canary demo: scrape every process of the sample service every second. canary writes the
            # file_sd targets (with the labels namespace and pod) as it starts and stops processes.
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: {Service}
                scrape_timeout: 1s
                file_sd_configs:
                  - files: ['{targets}/*.json']
                    refresh_interval: 1s

            """, CancellationToken.None);
        var process = Start("prometheus", prometheusProgram,
            [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(work, "prometheus")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        await PollAsync("Prometheus", process, async () =>
        {
            try
            {
                using var answer = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/-/ready"), cancellationToken);
                return answer.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }, cancellationToken);
    }

    private LocalProcess Start(string name, string program, IEnumerable<string> arguments)
    {
        var process = LocalProcess.Start(name, program, arguments, work, new Dictionary<string, string>(), Path.Combine(work, "logs", $"{name}.log"));
        infrastructure.Add(process);
        return process;
    }

    private async Task PollAsync(string what, LocalProcess process, Func<Task<bool>> ready, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(60);
        while (!await ready())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited at start ({process.ExitCode}): {process.Tail()}");
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"{what} did not start within 60 s: {process.Tail()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }
    }

    private async Task WaitAsync(Task task, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what}; see {Path.Combine(work, "canary.log")}");
        }
    }

    private void Print(string text)
    {
        lock (printing)
        {
            stdout.WriteLine(text);
            stdout.Flush();
        }
    }
}
