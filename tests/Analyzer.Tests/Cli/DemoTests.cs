using System.Diagnostics;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>
/// `canary demo --fast` end to end, as a user runs it: the built executable with real HAProxy,
/// Prometheus and sample-service processes. Its summary must record the healthy release promoted
/// and the faulty one rolled back with no failure users could see beyond the injected ones, and no
/// process may outlive it, also when it is interrupted.
/// </summary>
public sealed class DemoTests : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("canary-demo-").FullName;

    public void Dispose() => Processes.KillMatching(output);

    [Fact]
    public async Task The_fast_demo_promotes_the_healthy_release_rolls_back_the_faulty_one_and_leaves_nothing_running()
    {
        using var demo = Demo.Start(output);
        // Our own user of the frontend, counting failures independently of the demo's summary.
        var seen = await OwnLoadAsync(demo);
        var exit = await demo.ExitAsync(TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, $"exit {exit}\n{demo.Output}");
        Assert.True(seen.Requests > 100, $"only {seen.Requests} requests of our own got through");
        Assert.True(seen.Other == 0, $"{seen.Other} of our {seen.Requests} requests failed without being injected: {seen.FirstOther}");

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "summary.json")))!;
        var releases = summary["releases"]!.AsArray();
        Assert.Equal(["v2", "v3"], releases.Select(r => r!["name"]!.GetValue<string>()));
        Assert.Equal(["promoted", "rolled back"], releases.Select(r => r!["outcome"]!.GetValue<string>()));

        // The healthy release walked every step, each on a passing analysis, before promotion.
        var healthy = releases[0]!;
        Assert.Equal([0, 20, 40, 60, 0], healthy["steps"]!.AsArray().Select(s => s!["weight"]!.GetValue<int>()));
        Assert.Equal(3, healthy["analyses"]!.AsArray().Count(a => a!["verdict"]!.GetValue<string>() == "Pass"));

        // The faulty one failed on its analyses, naming the metrics, and never went past its first step
        // (its cohort is its own revision: the healthy canary's last samples do not dilute it).
        var faulty = releases[1]!;
        Assert.Equal(20, faulty["steps"]!.AsArray().Max(s => s!["weight"]!.GetValue<int>()));
        var failing = faulty["analyses"]!.AsArray().SelectMany(a => a!["failingMetrics"]!.AsArray()).Select(m => m!["name"]!.GetValue<string>()).ToHashSet();
        // Its 5 % errors and +50 ms each fail a metric (README: "fail on both metrics").
        Assert.Contains("p50 latency", failing);
        Assert.Contains("error rate", failing);

        var load = summary["load"]!;
        Assert.True(load["requests"]!.GetValue<long>() > 500, load.ToJsonString());
        Assert.True(load["injectedFailures"]!.GetValue<long>() > 0, load.ToJsonString());
        Assert.Equal(0, load["otherFailures"]!.GetValue<long>());
        Assert.Equal(load["failures"]!.GetValue<long>(), load["injectedFailures"]!.GetValue<long>());

        var html = File.ReadAllText(Path.Combine(output, "summary.html"));
        Assert.Contains("<span class=\"promoted\">promoted</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"rolled\">rolled back</span>", html, StringComparison.Ordinal);
        Assert.Contains("v2 PROMOTED", demo.Output, StringComparison.Ordinal);
        Assert.Contains("v3 ROLLED BACK", demo.Output, StringComparison.Ordinal);
        Assert.Empty(Processes.Matching(output));
    }

    [Fact]
    public async Task Ctrl_C_stops_every_process_and_still_writes_the_summary()
    {
        using var demo = Demo.Start(output);
        await Poll.UntilAsync(() => demo.Output.Contains("release v2", StringComparison.Ordinal) || demo.HasExited, "the first release to start", TimeSpan.FromMinutes(2));
        Assert.NotEmpty(Processes.Matching(output));
        Demo.Interrupt(demo);
        var exit = await demo.ExitAsync(TimeSpan.FromMinutes(1));
        Assert.True(exit == 130, $"exit {exit}\n{demo.Output}");
        Assert.Contains("interrupted: stopping every process", demo.Output, StringComparison.Ordinal);
        Assert.True(JsonNode.Parse(File.ReadAllText(Path.Combine(output, "summary.json")))!["interrupted"]!.GetValue<bool>());
        Assert.Empty(Processes.Matching(output));
    }

    /// <summary>
    /// Requests to the demo's HAProxy frontend, 20 a second, from when it is up until the faulty
    /// release is rolled back: a 500 the sample service marks (X-Injected-Failure) is injected,
    /// anything else that is not a 200 — another status, a refused or dropped connection — is not.
    /// </summary>
    private static async Task<(int Requests, int Injected, int Other, string? FirstOther)> OwnLoadAsync(ExternalProcess demo)
    {
        await Poll.UntilAsync(() => demo.Output.Contains("is the primary; load:", StringComparison.Ordinal) || demo.HasExited, "the demo's frontend to be up", TimeSpan.FromMinutes(2));
        var match = System.Text.RegularExpressions.Regex.Match(demo.Output, @"HAProxy frontend\s+(http://127\.0\.0\.1:\d+/)");
        Assert.True(match.Success, demo.Output);
        using var http = new HttpClient { BaseAddress = new Uri(match.Groups[1].Value), Timeout = TimeSpan.FromSeconds(5) };
        var (requests, injected, other) = (0, 0, 0);
        string? first = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (!demo.Output.Contains("v3 ROLLED BACK", StringComparison.Ordinal) && !demo.HasExited && DateTime.UtcNow < deadline)
        {
            requests++;
            try
            {
                using var answer = await http.GetAsync(new Uri("/", UriKind.Relative));
                if (answer.StatusCode == System.Net.HttpStatusCode.InternalServerError && answer.Headers.Contains("X-Injected-Failure"))
                {
                    injected++;
                }
                else if (answer.StatusCode != System.Net.HttpStatusCode.OK)
                {
                    other++;
                    first ??= $"status {(int)answer.StatusCode}";
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                other++;
                first ??= e.Message;
            }

            await Task.Delay(50);
        }

        return (requests, injected, other, first);
    }

    /// <summary>The built canary executable running `demo --fast`, its output collected as it comes.</summary>
    private static class Demo
    {
        public static ExternalProcess Start(string folder) =>
            ExternalProcess.Start(Path.Combine(AppContext.BaseDirectory, "canary"), ["demo", "--fast", "--output", folder], folder);

        /// <summary>SIGINT, as Ctrl-C in a terminal sends.</summary>
        public static void Interrupt(ExternalProcess demo)
        {
            using var kill = Process.Start("kill", ["-INT", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
    }
}
