using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Canary.Analyzer.Workloads;

/// <summary>
/// A program canary started and owns (a local workload, or Prometheus and HAProxy in the demo): its
/// output goes to a log file, and stopping it asks first (SIGTERM, so a web server finishes the
/// requests it is serving) and kills it, with its children, only after the grace period.
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock writing = new();

    private ChildProcess(Process process, StreamWriter log, string name, string logPath)
    {
        this.process = process;
        this.log = log;
        Name = name;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public int? ExitCode => process.HasExited ? process.ExitCode : null;

    /// <summary>Starts program with arguments; what it prints is appended to logPath.</summary>
    /// <exception cref="InvalidOperationException">The program cannot be started (not found, not executable).</exception>
    public static ChildProcess Start(string name, string program, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
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
        var child = new ChildProcess(process, writer, name, logPath);
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

    /// <summary>SIGTERM, then SIGKILL to the whole tree when it has not exited within grace.</summary>
    public async Task StopAsync(TimeSpan grace, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (process.HasExited)
        {
            return;
        }

        _ = Kill(process.Id, SigTerm);
        using var wait = new CancellationTokenSource(grace, time);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
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

    // kill(2) from libc: .NET's Process.Kill only sends SIGKILL, and a graceful stop needs SIGTERM.
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
