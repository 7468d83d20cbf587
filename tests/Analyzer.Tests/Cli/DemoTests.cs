using System.Diagnostics;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>
/// One run of `canary demo --fast` end to end, as a user runs it: the built executable with real
/// HAProxy, Prometheus and sample-service processes, and our own user of its frontend, counting
/// failures independently of the demo's summary. The tests read what the run left.
/// </summary>
public sealed class FastDemoRun : IAsyncLifetime
{
    public string Output { get; } = Directory.CreateTempSubdirectory("canary-demo-").FullName;

    public int Exit { get; private set; }

    public string Printed { get; private set; } = string.Empty;

    public (int Requests, int Injected, int Other, string? FirstOther) Seen { get; private set; }

    public JsonNode Summary => JsonNode.Parse(File.ReadAllText(Path.Combine(Output, "summary.json")))!;

    public JsonArray Releases => Summary["releases"]!.AsArray();

    public async Task InitializeAsync()
    {
        using var demo = DemoProcess.Start(Output);
        Seen = await OwnLoadAsync(demo);
        Exit = await demo.ExitAsync(TimeSpan.FromMinutes(4));
        Printed = demo.Output;
    }

    public Task DisposeAsync()
    {
        Processes.KillMatching(Output);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Requests to the demo's HAProxy frontend, 20 a second, from when it is up until the faulty
    /// release is rolled back: a 500 the sample service marks (X-Injected-Failure) is injected,
    /// anything else that is not a 200 — another status, a refused or dropped connection — is not.
    /// </summary>
    internal static async Task<(int Requests, int Injected, int Other, string? FirstOther)> OwnLoadAsync(ExternalProcess demo)
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

}

/// <summary>The healthy release promoted and the faulty one rolled back, with no failure users could see beyond the injected ones.</summary>
public sealed class DemoTests(FastDemoRun run) : IClassFixture<FastDemoRun>
{
    [Fact]
    public void The_fast_demo_exits_0()
    {
        Assert.True(run.Exit == 0, $"exit {run.Exit}\n{run.Printed}");
    }

    [Fact]
    public void The_healthy_release_is_promoted_after_passing_every_step()
    {
        Assert.Equal(["v2", "v3"], run.Releases.Select(r => r!["name"]!.GetValue<string>()));
        var healthy = run.Releases[0]!;
        Assert.Equal("promoted", healthy["outcome"]!.GetValue<string>());
        Assert.Equal([0, 20, 40, 60, 0], healthy["steps"]!.AsArray().Select(s => s!["weight"]!.GetValue<int>()));
        Assert.Equal(3, healthy["analyses"]!.AsArray().Count(a => a!["verdict"]!.GetValue<string>() == "Pass"));
        Assert.Contains("v2 PROMOTED", run.Printed, StringComparison.Ordinal);
    }

    [Fact]
    public void The_faulty_release_is_rolled_back_at_its_first_step_when_its_evidence_crosses()
    {
        // Its cohort is its own revision: the healthy canary's last requests do not dilute it.
        var faulty = run.Releases[1]!;
        Assert.Equal("rolled back", faulty["outcome"]!.GetValue<string>());
        Assert.Equal(20, faulty["steps"]!.AsArray().Max(s => s!["weight"]!.GetValue<int>()));
        var failing = faulty["analyses"]!.AsArray().SelectMany(a => a!["failingMetrics"]!.AsArray()).Select(m => m!["name"]!.GetValue<string>()).ToHashSet();
        // +50 ms puts nearly every canary request above the buckets v1's fall in: the latency evidence crosses first.
        Assert.Contains("latency", failing);
        Assert.Contains("rolled back: the evidence crossed", run.Printed, StringComparison.Ordinal);
        Assert.Contains("v3 ROLLED BACK", run.Printed, StringComparison.Ordinal);
    }

    [Fact]
    public void Our_own_user_sees_no_failure_but_the_injected_ones()
    {
        Assert.True(run.Seen.Requests > 100, $"only {run.Seen.Requests} requests of our own got through");
        Assert.True(run.Seen.Other == 0, $"{run.Seen.Other} of our {run.Seen.Requests} requests failed without being injected: {run.Seen.FirstOther}");
    }

    [Fact]
    public void The_summary_counts_only_injected_failures()
    {
        var load = run.Summary["load"]!;
        Assert.True(load["requests"]!.GetValue<long>() > 500, load.ToJsonString());
        Assert.True(load["injectedFailures"]!.GetValue<long>() > 0, load.ToJsonString());
        Assert.Equal(0, load["otherFailures"]!.GetValue<long>());
        Assert.Equal(load["failures"]!.GetValue<long>(), load["injectedFailures"]!.GetValue<long>());
    }

    [Fact]
    public void The_summary_page_names_each_outcome()
    {
        var html = File.ReadAllText(Path.Combine(run.Output, "summary.html"));
        Assert.Contains("<span class=\"promoted\">promoted</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"rolled\">rolled back</span>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void No_process_outlives_the_demo()
    {
        Assert.Empty(Processes.Matching(run.Output));
    }
}

/// <summary>One run of `canary demo --fast` interrupted (Ctrl-C) during its first release.</summary>
public sealed class InterruptedDemoRun : IAsyncLifetime
{
    public string Output { get; } = Directory.CreateTempSubdirectory("canary-demo-").FullName;

    public int Exit { get; private set; }

    public string Printed { get; private set; } = string.Empty;

    public int RunningBefore { get; private set; }

    public async Task InitializeAsync()
    {
        using var demo = DemoProcess.Start(Output);
        await Poll.UntilAsync(() => demo.Output.Contains("release v2", StringComparison.Ordinal) || demo.HasExited, "the first release to start", TimeSpan.FromMinutes(2));
        RunningBefore = Processes.Matching(Output).Count;
        DemoProcess.Interrupt(demo);
        Exit = await demo.ExitAsync(TimeSpan.FromMinutes(1));
        Printed = demo.Output;
    }

    public Task DisposeAsync()
    {
        Processes.KillMatching(Output);
        return Task.CompletedTask;
    }
}

public sealed class DemoInterruptTests(InterruptedDemoRun run) : IClassFixture<InterruptedDemoRun>
{
    [Fact]
    public void Ctrl_C_leaves_no_process_running()
    {
        Assert.NotEqual(0, run.RunningBefore);
        Assert.Empty(Processes.Matching(run.Output));
    }

    [Fact]
    public void Ctrl_C_still_writes_the_summary_marked_interrupted()
    {
        Assert.True(run.Exit == 130, $"exit {run.Exit}\n{run.Printed}");
        Assert.Contains("interrupted: stopping every process", run.Printed, StringComparison.Ordinal);
        Assert.True(JsonNode.Parse(File.ReadAllText(Path.Combine(run.Output, "summary.json")))!["interrupted"]!.GetValue<bool>());
    }
}

/// <summary>The built canary executable running `demo --fast`, its output collected as it comes.</summary>
internal static class DemoProcess
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
