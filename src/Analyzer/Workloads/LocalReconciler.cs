using Canary.Analyzer.Traffic;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Workloads;

/// <summary>
/// Makes what runs for a local target match what should run (the ReplicaSet's part), called under the
/// target's gate: takes over recorded processes, starts what is missing, restarts what exited after
/// a back-off, points HAProxy's slots at ready processes through the router (the only writer of the
/// backend), retires what should not run, and records what runs.
/// </summary>
internal sealed partial class LocalReconciler(HaproxyRouter haproxy, LocalStateFiles files, FileSdTargets fileSd, ProcessSupervisor supervisor, TimeProvider time, ILogger log)
{
    /// <summary>How long an old process keeps running after its slot moved away, before it is asked to stop.</summary>
    public TimeSpan Drain { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>On the first look at a target: reads what should run and takes over the processes a previous canary recorded that still run (under the gate).</summary>
    public void Load(LocalSite site)
    {
        if (site.Loaded)
        {
            return;
        }

        site.Desired = files.ReadDesired(site.Namespace, site.Name);
        foreach (var recorded in files.ReadProcesses(site.Namespace, site.Name))
        {
            if (supervisor.Adopt(site.Key, recorded) is not { } instance)
            {
                continue;
            }

            switch (recorded.Role)
            {
                case ProcessRole.Primary when site.Primary is null:
                    site.Primary = instance;
                    break;
                case ProcessRole.NextPrimary when site.Pending is null:
                    site.Pending = instance;
                    break;
                case ProcessRole.Canary when site.Canary is null:
                    site.Canary = instance;
                    break;
                default:
                    Retire(site, instance, TimeSpan.Zero);
                    break;
            }
        }

        // Killed after the slot moved to the next primary but before that was recorded: it is the primary.
        if (site.Primary is null && site.Pending is { } next && next.Revision == site.Desired.Primary?.Revision)
        {
            (site.Primary, site.Pending) = (next, null);
        }

        // Loaded before the record is written: a failed write must not make the next look adopt the same processes twice.
        site.Loaded = true;
        Record(site);
    }

    /// <summary>Level-triggered: starts what is missing, restarts what exited, points slots at ready processes, retires what should not run.</summary>
    public async Task ReconcileAsync(LocalSite site, CancellationToken cancellationToken)
    {
        if (site.Desired.Primary is { } primarySpec)
        {
            // Out of its role while it is replaced: a start that fails leaves the role empty, not the retired process in it.
            var primary = site.Primary;
            site.Primary = null;
            site.Primary = Keep(site, primary, primary?.Spec ?? primarySpec, ProcessRole.Primary, ref site.PrimaryRestarts);
            if (site.Primary.Revision == primarySpec.Revision)
            {
                RetirePending(site);
            }
            else
            {
                if (site.Pending is not null && site.Pending.Revision != primarySpec.Revision)
                {
                    RetirePending(site);
                }

                var pending = site.Pending;
                site.Pending = null;
                site.Pending = Keep(site, pending, primarySpec, ProcessRole.NextPrimary, ref site.PendingRestarts);
            }
        }

        if (site.Desired.Canary is { } canarySpec)
        {
            if (site.Canary is not null && site.Canary.Revision != canarySpec.Revision)
            {
                RetireCanary(site);
            }

            var canary = site.Canary;
            site.Canary = null;
            site.Canary = Keep(site, canary, canarySpec, ProcessRole.Canary, ref site.CanaryRestarts);
        }
        else
        {
            // The canary's weight is 0 before it is scaled down (the state machine orders it so): nothing reaches it.
            RetireCanary(site);
        }

        try
        {
            await PointSlotsAsync(site, cancellationToken);
        }
        finally
        {
            // Also when HAProxy failed: the roles may have changed before it did.
            Record(site);
        }
    }

    /// <summary>
    /// Points HAProxy's servers at the ready processes, checking where they point now (so a restarted
    /// HAProxy is repaired too). A ready next primary takes the primary server, and the old primary
    /// is stopped after the drain period.
    /// </summary>
    private async Task PointSlotsAsync(LocalSite site, CancellationToken cancellationToken)
    {
        var routes = site.Target.Routes;
        if (new[] { site.Primary, site.Pending, site.Canary }.All(i => i is not { Ready: true }))
        {
            return;
        }

        var actual = await haproxy.ServerAddressesAsync(routes, cancellationToken);
        async Task PointAsync(string server, LocalInstance instance)
        {
            if (!actual.TryGetValue(server, out var now) || now != ("127.0.0.1", instance.Port))
            {
                await haproxy.SetServerAddressAsync(routes, server, "127.0.0.1", instance.Port, cancellationToken);
                SlotMoved(log, site.Key, server, instance.Pod);
            }

            instance.Pointed = true;
        }

        if (site.Pending is { Ready: true } next)
        {
            await PointAsync(routes.PrimaryServer, next);
            Retire(site, site.Primary!, Drain);
            (site.Primary, site.Pending, site.PrimaryRestarts, site.PendingRestarts) = (next, null, site.PendingRestarts, 0);
        }
        else if (site.Primary is { Ready: true } primary)
        {
            await PointAsync(routes.PrimaryServer, primary);
        }

        if (site.Canary is { Ready: true } canary)
        {
            await PointAsync(routes.CanaryServer, canary);
        }
    }

    /// <summary>
    /// The running process of spec in a role: current while it runs; once it has exited, the same
    /// (not ready) until its back-off has passed (1 s, doubling up to 30 s), then a new one.
    /// </summary>
    private LocalInstance Keep(LocalSite site, LocalInstance? current, ProcessSpec spec, ProcessRole role, ref int restarts)
    {
        if (current is not null && !current.Process.HasExited)
        {
            return current;
        }

        var now = time.GetUtcNow();
        if (current is not null)
        {
            current.ExitSeen ??= now;
            if (now - current.ExitSeen < TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, restarts))))
            {
                return current;
            }

            restarts++;
            supervisor.Exited(site.Key, current);
            Retire(site, current, TimeSpan.Zero);
        }

        var port = LocalProcess.FreePort();
        var pod = role == ProcessRole.Canary ? $"{site.Name}-{spec.Revision}-{port}" : $"{site.Name}-primary-{spec.Revision}-{port}";
        // The progress deadline counts from the first start of a spec that was never ready; a restart of one that was ready starts it afresh.
        var instance = supervisor.Start(site.Key, pod, spec, port, current is { EverReady: false } ? current.DeadlineFrom : now);
        // Recorded at once, so a canary killed right now leaves no process that the next one does not know.
        site.Starting = (instance, role);
        try
        {
            Record(site);
        }
        catch
        {
            // Not recorded: it must not run unknown, so it is stopped (and recorded as stopping when the state folder can be written again).
            Retire(site, instance, TimeSpan.Zero);
            throw;
        }
        finally
        {
            site.Starting = null;
        }

        return instance;
    }

    private void RetirePending(LocalSite site)
    {
        if (site.Pending is { } pending)
        {
            Retire(site, pending, TimeSpan.Zero);
            site.Pending = null;
        }

        site.PendingRestarts = 0;
    }

    private void RetireCanary(LocalSite site)
    {
        if (site.Canary is { } canary)
        {
            Retire(site, canary, TimeSpan.Zero);
            site.Canary = null;
        }

        site.CanaryRestarts = 0;
    }

    /// <summary>Stops instance after drain; it stays in the record (as Retiring) until it is gone, so a canary killed meanwhile still stops it next time.</summary>
    private void Retire(LocalSite site, LocalInstance instance, TimeSpan drain)
    {
        site.Retiring.Add(instance);
        supervisor.Retire(instance, drain);
    }

    /// <summary>Writes what runs (pids and start times) when it changed, and the file_sd targets.</summary>
    public void Record(LocalSite site)
    {
        site.Retiring.RemoveAll(i => i.Stopped);
        site.RecordText = files.WriteProcesses(site.Namespace, site.Name, site.Records(), site.RecordText);
        fileSd.Write(site.Namespace, site.Name, new[] { site.Primary, site.Pending, site.Canary }.OfType<LocalInstance>().Select(i => (i.Port, i.Pod)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target}: HAProxy server {Server} now points at {Pod}")]
    private static partial void SlotMoved(ILogger logger, string target, string server, string pod);
}
