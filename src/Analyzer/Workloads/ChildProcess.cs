using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Canary.Analyzer.Workloads;

/// <summary>
/// A program canary started and owns (a local workload, or Prometheus and HAProxy in the demo): its
/// output goes to a log file, and stopping it asks first (SIGTERM, so a web server finishes the
/// requests it is serving) and kills it only after the grace period. It runs in a session and
/// process group of its own (util-linux `setsid`), so the stop reaches whatever it started too (a
/// wrapper script's server), and a Ctrl-C in canary's terminal reaches canary alone, which then
/// stops its processes in order.
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const string Setsid = "/usr/bin/setsid";
    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock writing = new();

    private bool disposed;

    private ChildProcess(Process process, StreamWriter log, string name, string logPath, bool grouped)
    {
        this.process = process;
        this.log = log;
        Name = name;
        LogPath = logPath;
        Grouped = grouped;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => process.Id;

    /// <summary>It leads a process group of its own (the pid is the group's id).</summary>
    public bool Grouped { get; }

    public bool HasExited => disposed || process.HasExited;

    public int? ExitCode => !disposed && process.HasExited ? process.ExitCode : null;

    /// <summary>Starts program with arguments; what it prints is appended to logPath.</summary>
    /// <exception cref="InvalidOperationException">The program cannot be started (not found, not executable).</exception>
    public static ChildProcess Start(string name, string program, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        // A missing program is an error now, not an exit code later.
        program = Locate(program) ?? throw new InvalidOperationException($"{name}: cannot start {program}: {(program.Contains('/', StringComparison.Ordinal) ? "no such file" : "not found on PATH")}");
        // setsid execs the program in place (the child of a fork is no group leader): same pid, new group.
        var grouped = File.Exists(Setsid);
        var start = new ProcessStartInfo(grouped ? Setsid : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (grouped)
        {
            start.ArgumentList.Add(program);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var writer = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process, writer, name, logPath, grouped);
        process.OutputDataReceived += (_, e) => child.Write(e.Data);
        process.ErrorDataReceived += (_, e) => child.Write(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            writer.Dispose();
            process.Dispose();
            throw new InvalidOperationException($"{name}: cannot start {program}: {e.Message}", e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
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

    public Task WaitForExitAsync(CancellationToken cancellationToken) => process.WaitForExitAsync(cancellationToken);

    /// <summary>SIGTERM to its group, then SIGKILL to what is left of it when grace has passed.</summary>
    public async Task StopAsync(TimeSpan grace, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (disposed || (process.HasExited && !GroupAlive()))
        {
            return;
        }

        Signal(SigTerm);
        using var wait = new CancellationTokenSource(grace, time);
        try
        {
            await process.WaitForExitAsync(wait.Token);
            // What the program started may outlive it: wait for the group too.
            while (GroupAlive())
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), time, wait.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Signal(SigKill);
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // It exited in between.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5), TimeProvider.System);
        disposed = true;
        process.Dispose();
        lock (writing)
        {
            log.Dispose();
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (writing)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives after the stop is dropped.
            }
        }
    }

    private void Signal(int signal) => _ = Kill(Grouped ? -process.Id : process.Id, signal);

    /// <summary>Some process of its group still runs (kill with signal 0 checks without sending).</summary>
    private bool GroupAlive() => Grouped ? Kill(-process.Id, 0) == 0 : !process.HasExited;

    // kill(2) from libc: .NET's Process.Kill only sends SIGKILL, and a graceful stop needs SIGTERM (to a whole group, too).
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
