using Prometheus;

namespace Canary.Testing;

/// <summary>
/// A live test exporter (prometheus-net's own HTTP server) serving plain HTTP instrumentation for a
/// v1 and a v2 pod of one namespace: every 100 ms each version "serves" twenty requests; v1 never
/// fails, v2 answers every Nth with 500 (deterministically, so the error ratio is exact), and v2's
/// latency is v1's times a factor.
/// </summary>
public sealed class LiveExporter : IAsyncDisposable
{
    /// <summary>The namespace of the default exporter, whose v2 fails every second request.</summary>
    public const string Namespace = "live";

    private readonly MetricServer server;
    private readonly CancellationTokenSource stop = new();
    private readonly Task traffic;

    private LiveExporter(MetricServer server, int port, Counter requests, Histogram durations, string ns, int v2ErrorEvery, double v2LatencyFactor)
    {
        this.server = server;
        Target = $"127.0.0.1:{port}";
        traffic = Task.Run(() => ServeAsync(requests, durations, ns, v2ErrorEvery, v2LatencyFactor, stop.Token));
    }

    /// <summary>host:port for Prometheus's scrape config.</summary>
    public string Target { get; }

    /// <summary>Starts an exporter for namespace ns whose v2 fails every v2ErrorEvery-th request (0: never).</summary>
    public static LiveExporter Start(string ns = Namespace, int v2ErrorEvery = 2, double v2LatencyFactor = 1.0)
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var requests = factory.CreateCounter("http_requests_total", "Requests served.", new CounterConfiguration { LabelNames = ["namespace", "pod", "version", "code"] });
        var durations = factory.CreateHistogram("http_request_duration_seconds", "Request duration.", new HistogramConfiguration { LabelNames = ["namespace", "pod", "version"] });
        var port = FreePort.Next();
        var server = new MetricServer("127.0.0.1", port, "metrics/", registry);
        server.Start();
        return new LiveExporter(server, port, requests, durations, ns, v2ErrorEvery, v2LatencyFactor);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await traffic;
        }
        catch (OperationCanceledException)
        {
        }

        await server.StopAsync();
        server.Dispose();
        stop.Dispose();
    }

    private static async Task ServeAsync(Counter requests, Histogram durations, string ns, int v2ErrorEvery, double v2LatencyFactor, CancellationToken cancellationToken)
    {
        var random = new Random(7);
        var served = 0L;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            for (var i = 0; i < 20; i++)
            {
                served++;
                requests.WithLabels(ns, SyntheticHistory.PrimaryPod, "v1", "200").Inc();
                durations.WithLabels(ns, SyntheticHistory.PrimaryPod, "v1").Observe(0.05 + (0.02 * random.NextDouble()));
                var failed = v2ErrorEvery > 0 && served % v2ErrorEvery == 0;
                requests.WithLabels(ns, SyntheticHistory.CanaryPod, "v2", failed ? "500" : "200").Inc();
                durations.WithLabels(ns, SyntheticHistory.CanaryPod, "v2").Observe((0.05 + (0.02 * random.NextDouble())) * v2LatencyFactor);
            }
        }
    }
}
