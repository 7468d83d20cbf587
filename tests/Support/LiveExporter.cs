using Prometheus;

namespace Canary.Testing;

/// <summary>
/// A live test exporter (prometheus-net's own HTTP server) serving plain HTTP instrumentation for a
/// v1 and a v2 pod of one namespace: every 100 ms each version "serves" its share of requests
/// (twenty by default: 200 requests/s); each answers every Nth with 500 (deterministically, so the
/// error ratio is exact; v1 by default never), and v2's latency is v1's times a factor.
/// </summary>
public sealed class LiveExporter : IAsyncDisposable
{
    /// <summary>The namespace of the default exporter, whose v2 fails every second request.</summary>
    public const string Namespace = "live";

    private readonly MetricServer server;
    private readonly CancellationTokenSource stop = new();
    private readonly Task traffic;

    private LiveExporter(MetricServer server, int port, Counter requests, Histogram durations, string ns, Traffic shape)
    {
        this.server = server;
        Target = $"127.0.0.1:{port}";
        traffic = Task.Run(() => ServeAsync(requests, durations, ns, shape, stop.Token));
    }

    /// <summary>What each version serves: requests per 100 ms, and every how many one fails (0: never).</summary>
    public sealed record Traffic(int V2ErrorEvery, double V2LatencyFactor = 1.0, int V1ErrorEvery = 0, int V1PerTick = 20, int V2PerTick = 20);

    /// <summary>host:port for Prometheus's scrape config.</summary>
    public string Target { get; }

    /// <summary>Starts an exporter for namespace ns whose v2 fails every v2ErrorEvery-th request (0: never).</summary>
    public static LiveExporter Start(string ns = Namespace, int v2ErrorEvery = 2, double v2LatencyFactor = 1.0) => Start(ns, new Traffic(v2ErrorEvery, v2LatencyFactor));

    /// <summary>Starts an exporter for namespace ns serving the traffic given.</summary>
    public static LiveExporter Start(string ns, Traffic shape)
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var requests = factory.CreateCounter("http_requests_total", "Requests served.", new CounterConfiguration { LabelNames = ["namespace", "pod", "version", "code"] });
        var durations = factory.CreateHistogram("http_request_duration_seconds", "Request duration.", new HistogramConfiguration { LabelNames = ["namespace", "pod", "version"] });
        var port = FreePort.Next();
        var server = new MetricServer("127.0.0.1", port, "metrics/", registry);
        server.Start();
        return new LiveExporter(server, port, requests, durations, ns, shape);
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

    private static async Task ServeAsync(Counter requests, Histogram durations, string ns, Traffic shape, CancellationToken cancellationToken)
    {
        var random = new Random(7);
        var (v1, v2) = (0L, 0L);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            for (var i = 0; i < shape.V1PerTick; i++)
            {
                v1++;
                var failed = shape.V1ErrorEvery > 0 && v1 % shape.V1ErrorEvery == 0;
                requests.WithLabels(ns, SyntheticHistory.PrimaryPod, "v1", failed ? "500" : "200").Inc();
                durations.WithLabels(ns, SyntheticHistory.PrimaryPod, "v1").Observe(0.05 + (0.02 * random.NextDouble()));
            }

            for (var i = 0; i < shape.V2PerTick; i++)
            {
                v2++;
                var failed = shape.V2ErrorEvery > 0 && v2 % shape.V2ErrorEvery == 0;
                requests.WithLabels(ns, SyntheticHistory.CanaryPod, "v2", failed ? "500" : "200").Inc();
                durations.WithLabels(ns, SyntheticHistory.CanaryPod, "v2").Observe((0.05 + (0.02 * random.NextDouble())) * shape.V2LatencyFactor);
            }
        }
    }
}
