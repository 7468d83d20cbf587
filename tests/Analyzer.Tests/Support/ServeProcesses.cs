using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Canary.Testing;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Support;

/// <summary>
/// `canary serve` as real processes (dotnet exec canary.dll) against one Kubernetes emulator with Istio's and canary's CRDs and
/// a Prometheus: what they print is kept for failure messages, and any still running at the end is killed.
/// </summary>
internal sealed class ServeProcesses : IAsyncDisposable
{
    /// <summary>The namespace of the release: the shared Prometheus scrapes its live exporters (a healthy v2).</summary>
    public const string Namespace = "e2e-healthy";

    private readonly StringBuilder output = new();
    private readonly List<Process> started = [];
    private readonly Uri prometheus;

    private ServeProcesses(KubernetesEmulator emulator, string folder, Uri prometheus)
    {
        Emulator = emulator;
        Folder = folder;
        this.prometheus = prometheus;
    }

    public KubernetesEmulator Emulator { get; }

    /// <summary>A temporary folder (kubeconfig, stores), deleted at the end.</summary>
    public string Folder { get; }

    public static async Task<ServeProcesses> StartAsync(Uri prometheus)
    {
        var emulator = await KubernetesEmulator.StartAsync();
        var folder = Directory.CreateTempSubdirectory("canary-serve-").FullName;
        emulator.InstallCrd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices");
        emulator.InstallCrd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules");
        emulator.InstallCrd("canary.dev", "v1alpha1", "Canary", "canaries");
        return new ServeProcesses(emulator, folder, prometheus);
    }

    /// <summary>Starts canary serve on the store (a SQLite file, or postgres:CONNECTION) and the port (or a free one); what it prints goes to own too, if given.</summary>
    public Process Serve(string store, StringBuilder? own = null, int? port = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "exec", Path.Combine(AppContext.BaseDirectory, "canary.dll"), "serve", "--urls", $"http://127.0.0.1:{port ?? FreePort.Next()}",
            "--store", store.StartsWith("postgres:", StringComparison.Ordinal) ? store : $"sqlite:{store}", "--kubeconfig", Emulator.WriteKubeconfig(Folder),
            "--prometheus", prometheus.AbsoluteUri,
        })
        {
            start.ArgumentList.Add(argument);
        }

        // Short cluster check-ins, so a replica that dies is noticed within seconds.
        start.Environment["CANARY__Canary__ClusterCheckin"] = "00:00:01";
        var process = Process.Start(start)!;
        started.Add(process);
        process.OutputDataReceived += (_, e) => { Log(e.Data); Append(own, e.Data); };
        process.ErrorDataReceived += (_, e) => { Log(e.Data); Append(own, e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>What the processes printed (the first 40 lines, without the idle ones), for failure messages.</summary>
    public string Output()
    {
        lock (output)
        {
            var text = output.ToString();
            return string.Join("\n", text.Split('\n').Where(l => !l.Contains("waiting for a new revision", StringComparison.Ordinal)).Take(40));
        }
    }

    /// <summary>Waits up to 90 s until done, failing at once if the process exits.</summary>
    public async Task WaitAsync(Process process, Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!done())
        {
            Assert.False(process.HasExited, $"canary serve exited with {(process.HasExited ? process.ExitCode : 0)}:\n{Output()}");
            Assert.True(DateTime.UtcNow < deadline, $"{what} within 90 s; canary serve said:\n{Output()}");
            await Task.Delay(100);
        }
    }

    /// <summary>The status of the Canary checkout, or null.</summary>
    public JsonNode? Status() => Emulator.Read("canary.dev", "v1alpha1", "canaries", Namespace, "checkout")?["status"];

    /// <summary>The Canary checkout: istio, steps of 20, 40 and 60 % every second, judged on the error rate.</summary>
    public static JsonObject Canary() => JsonNode.Parse("""
        {"apiVersion": "canary.dev/v1alpha1", "kind": "Canary", "metadata": {"name": "checkout"},
         "spec": {"targetRef": {"kind": "Deployment", "name": "checkout"}, "router": "istio",
                  "analysis": {"interval": "1s", "window": "15s", "threshold": 3, "minSamples": 5, "stepWeights": [20, 40, 60],
                               "cohorts": {"control": "version=\"v1\"", "experiment": "version=\"v2\""},
                               "config": {"interval": "5s", "step": "1s",
                                          "metrics": [{"name": "error rate", "template": "http-error-rate", "critical": true, "mustHaveData": true}]}}}}
        """)!.AsObject();

    public static JsonObject Deployment(string image, int replicas = 2) => JsonNode.Parse("""
        {"metadata": {"name": "checkout", "labels": {"app": "checkout"}},
         "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"}},
                               "spec": {"containers": [{"name": "app", "image": "IMAGE", "ports": [{"containerPort": 8080}]}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("IMAGE", image, StringComparison.Ordinal))!.AsObject();

    public async ValueTask DisposeAsync()
    {
        // A failed assertion must not leave a canary serve running after the test.
        foreach (var process in started)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
                // Already disposed by its test: it was stopped there.
            }
        }

        await Emulator.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    private static void Append(StringBuilder? own, string? line)
    {
        if (own is not null)
        {
            lock (own)
            {
                own.AppendLine(line);
            }
        }
    }

    private void Log(string? line)
    {
        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
