using Canary.Analyzer.Documents;
using System.Globalization;
using System.Net.Sockets;
using Canary.Analyzer.Cli.Demo;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Workloads;
using Serilog;
using Serilog.Extensions.Logging;

namespace Canary.Analyzer.Cli;

/// <summary>
/// `canary demo`: the whole loop on one machine with real processes. v1 of the sample service runs
/// behind HAProxy, Prometheus scrapes it every second and a load generator sends steady traffic;
/// then a healthy v2 is released (and promoted step by step) and a faulty v3 (5 % errors, +50 ms;
/// rolled back), by editing the process file as a user would. Progress is printed as it happens and
/// the summary is written to summary.json and summary.html. Every process it starts is stopped at
/// the end, on Ctrl-C and on SIGTERM.
/// </summary>
internal static class DemoCommand
{
    public const string Usage = """
        usage: canary demo [--fast] [--output DIR]
          Starts, on loopback ports: the sample service v1, HAProxy in front of it, Prometheus scraping every
          second, steady load through HAProxy, and canary with an SQLite store in DIR/work. Then releases a
          healthy v2 (promoted step by step) and a faulty v3 (5 % errors, +50 ms: rolled back), printing each
          weight change and analysis, and writes DIR/summary.html and DIR/summary.json.
          --fast     short intervals: done in about a minute (the tests run this)
          --output   where the summary and the work folder go (default: canary-demo)
        Needs prometheus and haproxy (Debian: apt-get install -y prometheus haproxy; ./canary demo installs them).
        Exit status: 0 when both releases ended as expected and no request failed except the injected ones,
        1 when not, 2 for bad usage or missing programs, 130 when interrupted.
        """;

    private static readonly HashSet<string> Flags = ["--help", "--fast"];
    private static readonly HashSet<string> ValueOptions = ["--output"];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, TimeProvider time, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("demo", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var fast = line.Has("--fast");
        var output = Path.GetFullPath(line.Option("--output") ?? "canary-demo");
        var programs = new Dictionary<string, string?> { ["prometheus"] = LocalProcess.Locate("prometheus"), ["haproxy"] = LocalProcess.Locate("haproxy") };
        if (programs.Where(p => p.Value is null).Select(p => p.Key).ToList() is { Count: > 0 } missing)
        {
            throw new InputException($"needs {string.Join(" and ", missing)} on PATH; on Debian: apt-get install -y {string.Join(' ', missing)} (./canary demo installs them)");
        }

        var work = Path.Combine(output, "work");
        try
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }

            Directory.CreateDirectory(work);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"--output: {output}: {e.Message}");
        }

        var plan = fast ? DemoPlan.Fast : DemoPlan.Normal;
        await using var run = new DemoRun(plan, work, programs["prometheus"]!, programs["haproxy"]!, stdout, time);
        var summary = await run.RunAsync(cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(output, "summary.json"), summary.ToJson(), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(output, "summary.html"), summary.ToHtml(), CancellationToken.None);
        await stdout.WriteLineAsync($"summary: {Path.Combine(output, "summary.html")} and summary.json; logs in {work}");
        return summary.Interrupted ? ExitCodes.Interrupted : summary.AsExpected ? ExitCodes.Done : ExitCodes.GateFailed;
    }
}
