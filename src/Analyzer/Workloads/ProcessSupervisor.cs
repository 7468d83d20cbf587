using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Workloads;

/// <summary>One process of a local target (a pod): its spec, port and process, and what its readiness probe last saw.</summary>
internal sealed class LocalInstance(ProcessSpec spec, int port, string pod, LocalProcess process, DateTimeOffset deadlineFrom)
{
    public ProcessSpec Spec => spec;

    public string Revision { get; } = spec.Revision;

    public int Port => port;

    public string Pod => pod;

    public LocalProcess Process => process;

    /// <summary>Where the progress deadline counts from: the first start of this spec in this role, until it was once ready.</summary>
    public DateTimeOffset DeadlineFrom => deadlineFrom;

    /// <summary>When its exit was first seen (for the restart back-off).</summary>
    public DateTimeOffset? ExitSeen { get; set; }

    /// <summary>Ends the probe loop: when the process stops, or when canary stops and leaves it running.</summary>
    public CancellationTokenSource Probing { get; } = new();

    public volatile bool Ready;

    public volatile bool EverReady;

    /// <summary>Its stop has finished (a retiring process).</summary>
    public volatile bool Stopped;

    /// <summary>Its HAProxy slot points at it.</summary>
    public bool Pointed { get; set; }

    public bool Serving => Ready && Pointed && !process.HasExited;

    public RecordedProcess Record(ProcessRole role) => new(role, pod, port, process.Identity, spec, deadlineFrom, EverReady);
}

/// <summary>
/// The supervisor of local processes (the kubelet's part): starts a spec's process on a free
/// loopback port, takes over one that a previous canary recorded, probes readiness as Kubernetes
/// does, and stops processes gracefully. It never decides what should run; LocalWorkloads does.
/// </summary>
internal sealed partial class ProcessSupervisor(LocalStateFiles files, TimeProvider time, ILogger log) : IAsyncDisposable
{
    private readonly List<Task> stopping = [];
    private readonly HttpClient probes = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) });

    /// <summary>How long a process may take to stop after SIGTERM before it is killed.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Starts spec as pod on port; the probe begins after the spec's initial delay.</summary>
    /// <exception cref="WorkloadNotReadyException">The program cannot be started.</exception>
    public LocalInstance Start(string target, string pod, ProcessSpec spec, int port, DateTimeOffset deadlineFrom)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var environment = spec.Environment.ToDictionary(e => e.Key, e => ProcessSpec.Fill(e.Value, port), StringComparer.Ordinal);
        environment["PORT"] = port.ToString(CultureInfo.InvariantCulture);
        LocalProcess process;
        try
        {
            process = LocalProcess.Start(pod, spec.Command[0], spec.Arguments(port).Skip(1), spec.WorkingDirectory, environment, files.LogPath(pod));
        }
        catch (InvalidOperationException e)
        {
            throw new WorkloadNotReadyException(e.Message, e);
        }

        ProcessStarted(log, target, pod, process.Id, port);
        var instance = new LocalInstance(spec, port, pod, process, deadlineFrom);
        _ = ProbeAsync(instance, spec.Probe.InitialDelay);
        return instance;
    }

    /// <summary>The recorded process when it still runs (same pid and start time), probed at once; null when it is gone.</summary>
    public LocalInstance? Adopt(string target, RecordedProcess recorded)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        if (LocalProcess.Adopt(recorded.Pod, recorded.Identity, files.LogPath(recorded.Pod)) is not { } process)
        {
            return null;
        }

        ProcessAdopted(log, target, recorded.Pod, process.Id, recorded.Port);
        var instance = new LocalInstance(recorded.Spec, recorded.Port, recorded.Pod, process, recorded.DeadlineFrom) { EverReady = recorded.EverReady };
        _ = ProbeAsync(instance, TimeSpan.Zero);
        return instance;
    }

    /// <summary>Stops instance after drain (the time its slot needs to move away); instance.Stopped is set when it is gone.</summary>
    public void Retire(LocalInstance instance, TimeSpan drain)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ProcessRetired(log, instance.Pod);
        var stop = Task.Run(async () =>
        {
            if (drain > TimeSpan.Zero)
            {
                await Task.Delay(drain, time);
            }

            await StopAsync(instance);
        });
        lock (stopping)
        {
            stopping.RemoveAll(t => t.IsCompleted);
            stopping.Add(stop);
        }
    }

    /// <summary>Stops instance now (SIGTERM, SIGKILL after the grace period).</summary>
    public async Task StopAsync(LocalInstance instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        await instance.Probing.CancelAsync();
        await instance.Process.StopAsync(StopGrace, time);
        instance.Ready = false;
        instance.Stopped = true;
    }

    /// <summary>Logs that a process exited and will be started again.</summary>
    public void Exited(string target, LocalInstance instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ProcessExited(log, target, instance.Pod, instance.Process.ExitCode, instance.Process.Tail(5));
    }

    /// <summary>Ends every probe and waits for the stops already asked for; the processes that run keep running.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (stopping)
        {
            pending = [.. stopping];
        }

        try
        {
            await Task.WhenAll(pending);
        }
        finally
        {
            probes.Dispose();
        }
    }

    /// <summary>The readiness probe: ready after one answer below 400, not ready after FailureThreshold failures in a row.</summary>
    private async Task ProbeAsync(LocalInstance instance, TimeSpan initialDelay)
    {
        var probe = instance.Spec.Probe;
        var url = new Uri($"http://127.0.0.1:{instance.Port.ToString(CultureInfo.InvariantCulture)}{probe.Path}");
        var failures = 0;
        var stop = instance.Probing.Token;
        try
        {
            await Task.Delay(initialDelay, time, stop);
            while (!stop.IsCancellationRequested && !instance.Process.HasExited)
            {
                bool ok;
                using (var timeout = new CancellationTokenSource(probe.Timeout, time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stop))
                {
                    try
                    {
                        using var answer = await probes.GetAsync(url, linked.Token);
                        ok = (int)answer.StatusCode < 400;
                    }
                    catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !stop.IsCancellationRequested))
                    {
                        ok = false;
                    }
                }

                failures = ok ? 0 : failures + 1;
                if (ok)
                {
                    instance.Ready = true;
                    instance.EverReady = true;
                }
                else if (failures >= probe.FailureThreshold)
                {
                    instance.Ready = false;
                }

                await Task.Delay(probe.Period, time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped, or canary stops.
        }
        catch (ObjectDisposedException)
        {
            // canary stopped while a probe was on its way.
        }

        instance.Ready = false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target}: started {Pod} (pid {Pid}) on port {Port}")]
    private static partial void ProcessStarted(ILogger logger, string target, string pod, int pid, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target}: took over {Pod} (pid {Pid}) on port {Port}, still running from before")]
    private static partial void ProcessAdopted(ILogger logger, string target, string pod, int pid, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Target}: {Pod} exited with {ExitCode}; starting it again. Last output: {Tail}")]
    private static partial void ProcessExited(ILogger logger, string target, string pod, int? exitCode, string tail);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopping {Pod}")]
    private static partial void ProcessRetired(ILogger logger, string pod);
}
