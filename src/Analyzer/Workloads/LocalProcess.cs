using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Canary.Analyzer.Workloads;

/// <summary>Who a process is: its pid and its start time (clock ticks since boot, /proc/PID/stat field 22), so a recycled pid is never taken for it.</summary>
internal sealed record ProcessIdentity(int Pid, long StartTicks);

/// <summary>
/// A program canary started (a local workload, or Prometheus and HAProxy in the demo). It runs in a
/// session and process group of its own (util-linux `setsid`), its output goes straight to a log
/// file (never through canary's pipes), and its stdin is /dev/null: so it keeps running when canary
/// stops or is killed, and a later canary can take it over again by its identity
/// (<see cref="Adopt"/>). Stopping it asks first (SIGTERM to its group, so a web server finishes the
/// requests it is serving and a wrapper script's server stops too) and kills it only after the grace
/// period. A Ctrl-C in canary's terminal reaches canary alone.
/// </summary>
internal sealed partial class LocalProcess
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const string Setsid = "/usr/bin/setsid";

    // The shell only redirects and execs (same pid): the log is appended, stdin is /dev/null, and setsid makes a new session and group.
    private const string Launcher = "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null";

    private readonly Process? child;

    private LocalProcess(string name, ProcessIdentity identity, string logPath, Process? child)
    {
        Name = name;
        Identity = identity;
        LogPath = logPath;
        this.child = child;
    }

    public string Name { get; }

    public ProcessIdentity Identity { get; }

    public int Id => Identity.Pid;

    public string LogPath { get; }

    /// <summary>It no longer runs (exited, or its pid now belongs to another process).</summary>
    public bool HasExited => child is not null ? child.HasExited : !IsRunning(Identity);

    /// <summary>The exit code, known only for a process this canary started (an adopted one is reaped by init).</summary>
    public int? ExitCode => child is { HasExited: true } ? child.ExitCode : null;

    /// <summary>Starts program with arguments in a session of its own; what it prints is appended to logPath.</summary>
    /// <exception cref="InvalidOperationException">The program cannot be started (not found, not executable).</exception>
    public static LocalProcess Start(string name, string program, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        // A missing program is an error now, not an exit code later.
        program = Locate(program) ?? throw new InvalidOperationException($"{name}: cannot start {program}: {(program.Contains('/', StringComparison.Ordinal) ? "no such file" : "not found on PATH")}");
        logPath = Path.GetFullPath(logPath);
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        foreach (var word in new[] { "-c", Launcher, "sh", logPath })
        {
            start.ArgumentList.Add(word);
        }

        // setsid execs the program in place (the child of a fork is no group leader): same pid, new session and group.
        if (File.Exists(Setsid))
        {
            start.ArgumentList.Add(Setsid);
        }

        start.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException($"{name}: cannot start {program}: {e.Message}", e);
        }

        // The start time is the fork's, so it is the same before and after the execs.
        var ticks = StartTicks(process.Id) ?? 0;
        return new LocalProcess(name, new ProcessIdentity(process.Id, ticks), logPath, process);
    }

    /// <summary>The process of identity when it still runs (same pid, same start time); null when it is gone or its pid was reused.</summary>
    public static LocalProcess? Adopt(string name, ProcessIdentity identity, string logPath)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return IsRunning(identity) ? new LocalProcess(name, identity, logPath, null) : null;
    }

    /// <summary>A free TCP port on loopback, as the OS hands it out.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A program's full path: as given when it has a '/', else the first on PATH or in /usr/sbin and /sbin (HAProxy's place on Debian, not on every user's PATH); null when there is none.</summary>
    public static string? Locate(string program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return program.Contains('/', StringComparison.Ordinal)
            ? (File.Exists(program) ? program : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin"])
                .Select(folder => Path.Combine(folder, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>The last lines of the log, for error messages.</summary>
    public string Tail(int lines = 10)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>SIGTERM to its group, then SIGKILL to what is left of it when grace has passed; returns once the whole group is gone.</summary>
    public async Task StopAsync(TimeSpan grace, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        // A pid that now belongs to another program is not signalled; a group whose leader is gone is still ours (Linux does not hand out a pid that is a live group's id).
        if (!GroupAlive() || (StartTicks(Id) is { } ticks && ticks != Identity.StartTicks))
        {
            return;
        }

        Signal(SigTerm);
        using var wait = new CancellationTokenSource(grace, time);
        try
        {
            while (GroupAlive())
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), time, wait.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Its pid may have gone to another program meanwhile: only ours is killed.
            if (StartTicks(Id) is { } now && now != Identity.StartTicks)
            {
                return;
            }

            Signal(SigKill);
            using var killed = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
            try
            {
                while (GroupAlive())
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), time, killed.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // Not reaped yet (a zombie): it no longer runs.
            }
        }
    }

    /// <summary>Whether identity still runs: its /proc entry has the same start time and is no zombie.</summary>
    public static bool IsRunning(ProcessIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return Stat(identity.Pid) is { } stat && stat.State != 'Z' && stat.StartTicks == identity.StartTicks;
    }

    private static long? StartTicks(int pid) => Stat(pid)?.StartTicks;

    /// <summary>/proc/PID/stat: the state (field 3) and the start time (field 22); the name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.</summary>
    private static (char State, long StartTicks)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var fields = text[(text.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? (fields[0][0], ticks) : null;
    }

    /// <summary>It runs, or some process of its group does (kill with signal 0 checks a group without sending); zombies do not count.</summary>
    private bool GroupAlive()
    {
        if (child is { HasExited: false } || IsRunning(Identity))
        {
            return true;
        }

        return Kill(-Id, 0) == 0 && OthersInGroup();
    }

    /// <summary>To its group; to itself alone when the group is not made yet (right after the start, before setsid ran).</summary>
    private void Signal(int signal)
    {
        if (Kill(-Id, signal) != 0)
        {
            _ = Kill(Id, signal);
        }
    }

    /// <summary>Processes other than the leader whose group is this one (field 5 of /proc/PID/stat).</summary>
    private bool OthersInGroup()
    {
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Id)
            {
                continue;
            }

            try
            {
                var text = File.ReadAllText(Path.Combine(entry, "stat"));
                var fields = text[(text.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 2 && fields[0] != "Z" && fields[2] == Id.ToString(CultureInfo.InvariantCulture))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone in between.
            }
        }

        return false;
    }

    // kill(2) from libc: .NET's Process.Kill only sends SIGKILL, and a graceful stop needs SIGTERM (to a whole group, too).
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
