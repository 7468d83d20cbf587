using System.Diagnostics;
using System.Text;

namespace Canary.Testing;

/// <summary>Runs a program from the machine (promtool, prometheus) and keeps what it printed for failure messages.</summary>
public sealed class ExternalProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ExternalProcess(Process process) => this.process = process;

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public bool HasExited => process.HasExited;

    public int Id => process.Id;

    /// <summary>Waits for the exit and returns its status.</summary>
    public async Task<int> ExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    public static ExternalProcess Start(string program, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Locate(program))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var started = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Runs a program to its end; a non-zero exit fails with what it printed.</summary>
    public static async Task<string> RunAsync(string program, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        using var run = Start(program, arguments, workingDirectory);
        using var deadline = new CancellationTokenSource(timeout);
        await run.process.WaitForExitAsync(deadline.Token);
        if (run.process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} exited with {run.process.ExitCode}:\n{run.Output}");
        }

        return run.Output;
    }

    /// <summary>The program's path, or a message saying which Debian package provides it.</summary>
    public static string Locate(string program)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            var path = Path.Combine(folder, program);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"{program} is not installed; ./build.sh test installs it (apt-get install -y prometheus)");
    }

    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            // Keep the tail: a long-running server can print a lot.
            if (output.Length > 64_000)
            {
                output.Remove(0, 32_000);
            }

            output.AppendLine(line);
        }
    }
}
