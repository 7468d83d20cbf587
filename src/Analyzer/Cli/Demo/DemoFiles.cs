using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Cli.Demo;

/// <summary>The files the demo writes as a user would: the process file of each version, and the Canary.</summary>
internal static class DemoFiles
{
    public const string Namespace = "demo";
    public const string Service = "checkout";

    /// <summary>Writes the process file for a version of the sample service (as a user edits a Deployment) and returns its revision.</summary>
    public static async Task<string> WriteProcessFileAsync(string path, string version, string flags)
    {
        var words = SelfCommand().Concat(["sample-service", "--port", "{port}", "--version", version]).Concat(flags.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var text = $"""
            # What runs {Service}: edit the command to release a new version (the demo does, like a user editing a Deployment).
            command: [{string.Join(", ", words.Select(w => $"\"{w}\""))}]
            readinessProbe: {"{"}path: /healthz, period: 1s, timeout: 1s, failureThreshold: 3{"}"}

            """;
        await File.WriteAllTextAsync(path + ".tmp", text, CancellationToken.None);
        File.Move(path + ".tmp", path, overwrite: true);
        return ProcessSpecReader.ReadFile(path).Revision;
    }

    public static string Canary(DemoPlan plan, string socket) => $"""
        # The demo's Canary: the local target {Service} (a process file) behind HAProxy, released in steps
        # of {plan.StepWeights} % while the Judge compares the canary's error rate and latency with the primary's.
        apiVersion: canary.dev/v1alpha1
        kind: Canary
        metadata:
          name: {Service}
          namespace: {Namespace}
        spec:
          targetRef: {"{"}kind: Process, name: {Service}, path: {Service}.process.yaml{"}"}
          router: haproxy
          service:
            haproxy: {"{"}runtimeApi: {socket}, backend: {Service}{"}"}
          progressDeadline: 1m
          analysis:
            interval: {plan.Interval}
            window: {plan.Window}
            warmUp: {plan.WarmUp}
            minSamples: {plan.MinSamples}
            threshold: {plan.Threshold}
            stepWeights: {plan.StepWeights}
            config:
              # Sequential metrics counted per tick; at 0.999 two metrics roll back a healthy release at most 0.2 % of the time.
              judge: {"{"}confidenceLevel: 0.999{"}"}
              groupWeights: {"{"}errors: 60, latency: 40{"}"}
              metrics:
                - name: errors
                  template: http-errors
                  group: errors
                  critical: true
                  mustHaveData: true
                  effectSize: {"{"}allowedIncrease: 1.2{"}"}
                - name: latency
                  template: http-latency
                  group: latency
                  effectSize: {"{"}allowedIncrease: 1.5{"}"}

        """;

    /// <summary>How to run this canary again: its own executable, or `dotnet exec canary.dll` when run through dotnet.</summary>
    public static string[] SelfCommand()
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, "canary");
        if (File.Exists(apphost))
        {
            return [apphost];
        }

        var dotnet = Environment.ProcessPath ?? "dotnet";
        return [dotnet, "exec", Path.Combine(AppContext.BaseDirectory, "canary.dll")];
    }
}
