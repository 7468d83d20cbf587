using Prometheus;

namespace Canary.Testing;

/// <summary>
/// A live test exporter (prometheus-net's own HTTP server) serving plain HTTP instrumentation for a
/// v1 and a v2 pod in namespace "live": every 100 ms each version "serves" ten requests; v1 never
/// fails, v2 answers half of them with 500.
/// </summary>
public sealed class LiveExporter : IAsyncDisposable
{
    public const string Namespace = "live";

    private readonly MetricServer server;
    private readonly CancellationTokenSource stop = new();
    private readonly Task traffic;

    private LiveExporter(MetricServer server, int port, Counter requests, Histogram durations)
    {
        this.server = server;
        Target = $"127.0.0.1:{port}";
        traffic = Task.Run(() => ServeAsync(requests, durations, stop.Token));
    }

    /// <summary>host:port for Prometheus's scrape config.</summary>
    public string Target { get; }

    public static LiveExporter Start()
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var requests = factory.CreateCounter("http_requests_total", "Requests served.", new CounterConfiguration { LabelNames = ["namespace", "pod", "version", "code"] });
        var durations = factory.CreateHistogram("http_request_duration_seconds", "Request duration.", new HistogramConfiguration { LabelNames = ["namespace", "pod", "version"] });
        var port = FreePort.Next();
        var server = new MetricServer("127.0.0.1", port, "metrics/", registry);
        server.Start();
        return new LiveExporter(server, port, requests, durations);
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

    private static async Task ServeAsync(Counter requests, Histogram durations, CancellationToken cancellationToken)
    {
        var random = new Random(7);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            for (var i = 0; i < 10; i++)
            {
                requests.WithLabels(Namespace, SyntheticHistory.PrimaryPod, "v1", "200").Inc();
                durations.WithLabels(Namespace, SyntheticHistory.PrimaryPod, "v1").Observe(0.05 + (0.02 * random.NextDouble()));
                requests.WithLabels(Namespace, SyntheticHistory.CanaryPod, "v2", i % 2 == 0 ? "500" : "200").Inc();
                durations.WithLabels(Namespace, SyntheticHistory.CanaryPod, "v2").Observe(0.05 + (0.02 * random.NextDouble()));
            }
        }
    }
}
