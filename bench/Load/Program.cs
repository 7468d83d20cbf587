using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Canary.Testing;
using Canary.Testing.Kubernetes;

// Runs `canary serve` (the published tool in .out/canary) against the Kubernetes emulator and a real
// Prometheus with N active rollouts ticking every INTERVAL, and reports the serve process's CPU per
// tick and peak memory (VmHWM). Usage: Load ROLLOUTS INTERVAL_SECONDS MEASURE_SECONDS
var rollouts = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
var interval = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
var measure = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 120;
const string Ns = "e2e-healthy";

var prometheus = new PrometheusFixture();
await prometheus.InitializeAsync();
await using var emulator = await KubernetesEmulator.StartAsync();
emulator.ControllerInterval = TimeSpan.FromMilliseconds(500);
emulator.InstallCrd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices");
emulator.InstallCrd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules");
emulator.InstallCrd("canary.dev", "v1alpha1", "Canary", "canaries");
var folder = Directory.CreateTempSubdirectory("canary-load-").FullName;
await prometheus.WaitForScrapesAsync(Ns);

for (var i = 0; i < rollouts; i++)
{
    emulator.Write("apps", "v1", "deployments", Ns, Deployment($"app-{i}", "app:1.0", 2));
    emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, Canary($"app-{i}"));
}

var canary = Path.Combine(Directory.GetCurrentDirectory(), ".out", "canary", "canary.dll");
var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
foreach (var argument in new[] { "exec", canary, "serve", "--urls", $"http://127.0.0.1:{FreePort.Next()}", "--store", $"sqlite:{Path.Combine(folder, "canary.db")}",
    "--kubeconfig", emulator.WriteKubeconfig(folder), "--prometheus", prometheus.Url.AbsoluteUri })
{
    start.ArgumentList.Add(argument);
}

var decisions = 0;
using var serve = Process.Start(start)!;
serve.OutputDataReceived += (_, e) => { if (e.Data?.Contains(" %: ", StringComparison.Ordinal) == true) Interlocked.Increment(ref decisions); };
serve.ErrorDataReceived += (_, _) => { };
serve.BeginOutputReadLine();
serve.BeginErrorReadLine();

int Count(string phase) => Enumerable.Range(0, rollouts).Count(i => emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, $"app-{i}")?["status"]?["phase"]?.GetValue<string>() == phase);
var deadline = DateTime.UtcNow.AddMinutes(15);
while (Count("Initialized") < rollouts && DateTime.UtcNow < deadline)
{
    await Task.Delay(2000);
}

Console.WriteLine($"initialized: {Count("Initialized")} of {rollouts}");
for (var i = 0; i < rollouts; i++)
{
    emulator.Write("apps", "v1", "deployments", Ns, Deployment($"app-{i}", "app:2.0", 0));
}

// Let every rollout reach its analysing steps, then measure a steady window.
await Task.Delay(TimeSpan.FromSeconds(interval * 3));
var (cpu0, ticks0) = (CpuSeconds(serve.Id), Volatile.Read(ref decisions));
await Task.Delay(TimeSpan.FromSeconds(measure));
var (cpu1, ticks1) = (CpuSeconds(serve.Id), Volatile.Read(ref decisions));
var progressing = Count("Progressing");
var phases = string.Join(", ", Enumerable.Range(0, rollouts).Select(i => emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, $"app-{i}")?["status"]?["phase"]?.GetValue<string>() ?? "none")
    .GroupBy(p => p).Select(g => $"{g.Key} {g.Count()}"));
var sample = emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "app-0")?["status"]?["reason"]?.GetValue<string>();
var peak = File.ReadLines($"/proc/{serve.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
serve.Kill(entireProcessTree: true);
await serve.WaitForExitAsync();
await prometheus.DisposeAsync();

var ticks = ticks1 - ticks0;
Console.WriteLine($"rollouts: {rollouts}, interval: {interval} s, measured: {measure} s, progressing at the end: {progressing}");
Console.WriteLine($"phases: {phases}; app-0: {sample}");
Console.WriteLine($"ticks in the window: {ticks} (expected about {rollouts * measure / interval})");
Console.WriteLine($"CPU: {cpu1 - cpu0:F1} s over {measure} s = {(cpu1 - cpu0) / measure * 100:F1} % of one core; {(cpu1 - cpu0) / Math.Max(1, ticks) * 1000:F2} ms CPU per tick");
Console.WriteLine($"peak memory ({peak.Split(':')[0]}): {peak.Split(':')[1].Trim()}");
return 0;

static double CpuSeconds(int pid)
{
    // utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
    var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

JsonObject Canary(string name) => JsonNode.Parse("""
    {"apiVersion": "canary.dev/v1alpha1", "kind": "Canary", "metadata": {"name": "NAME"},
     "spec": {"targetRef": {"kind": "Deployment", "name": "NAME"}, "router": "istio",
              "analysis": {"interval": "INTERVALs", "window": "40s", "threshold": 5, "minSamples": 5, "stepWeight": 1, "maxWeight": 99,
                           "cohorts": {"control": "version=\"v1\"", "experiment": "version=\"v2\""},
                           "config": {"interval": "10s", "step": "5s",
                                      "metrics": [{"name": "error rate", "template": "http-error-rate", "critical": true, "mustHaveData": true},
                                                  {"name": "mean latency", "template": "http-latency-mean", "effectSize": {"allowedIncrease": 1.5}}]}}}}
    """.Replace("NAME", name, StringComparison.Ordinal).Replace("INTERVAL", interval.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))!.AsObject();

static JsonObject Deployment(string name, string image, int replicas) => JsonNode.Parse("""
    {"metadata": {"name": "NAME", "labels": {"app": "NAME"}},
     "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "NAME"}},
              "template": {"metadata": {"labels": {"app": "NAME"}}, "spec": {"containers": [{"name": "app", "image": "IMAGE"}]}}}}
    """.Replace("NAME", name, StringComparison.Ordinal).Replace("REPLICAS", replicas.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("IMAGE", image, StringComparison.Ordinal))!.AsObject();
