using System.Diagnostics;
using Canary.Analyzer.Cli;

namespace Canary.Analyzer.Tests.Support;

/// <summary>What one canary invocation printed and returned.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

internal static class CanaryRunner
{
    public static string Example(string name) => Path.Combine(AppContext.BaseDirectory, "examples", "judge", name);

    /// <summary>Runs the command line in this process, with stdin, stdout and stderr captured.</summary>
    public static async Task<CliRun> RunWithInputAsync(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CanaryCli.RunAsync(args, input, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public static Task<CliRun> RunAsync(params string[] args) => RunWithInputAsync(string.Empty, args);

    /// <summary>Runs the built canary executable as a separate process, as a user's script would.</summary>
    public static Task<CliRun> RunProcessAsync(params string[] args) => RunProcessAsync(null, null, args);

    /// <summary>The same, with settings in the environment (CANARY__Section__Key) and standard input read from a file (e.g. /dev/urandom).</summary>
    public static async Task<CliRun> RunProcessAsync(IReadOnlyDictionary<string, string>? environment, string? stdinFile, params string[] args)
    {
        // With stdin from a file, a shell opens it, as `canary judge - < FILE` would.
        var start = new ProcessStartInfo(stdinFile is null ? "dotnet" : "bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (stdinFile is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec dotnet \"$@\" < \"$STDIN_FILE\"");
            start.ArgumentList.Add("bash");
            start.Environment["STDIN_FILE"] = stdinFile;
        }

        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "canary.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(deadline.Token);
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Writes text to a new file in a fresh temporary folder and returns its path.</summary>
    public static string TempFile(string name, string text)
    {
        var folder = Directory.CreateTempSubdirectory("canary-test-").FullName;
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        return path;
    }
}
