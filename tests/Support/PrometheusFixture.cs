using Xunit;

namespace Canary.Testing;

/// <summary>
/// One real Prometheus per test collection: its storage is backfilled with <see cref="SyntheticHistory"/>
/// through `promtool tsdb create-blocks-from openmetrics`, and it scrapes a <see cref="LiveExporter"/>
/// every second. Everything lives in a temporary folder that is removed afterwards.
/// </summary>
public sealed class PrometheusFixture : IAsyncLifetime
{
    private PrometheusServer? server;
    private LiveExporter? exporter;
    private readonly List<LiveExporter> scenarios = [];

    /// <summary>
    /// Live namespaces for rollout tests, scraped from the start: e2e-healthy, e2e-flaky and e2e-gated
    /// (v2 as good as v1), e2e-faulty (v2 fails 5 % of requests), and the seq-… namespaces of the
    /// sequential rollout tests.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, LiveExporter.Traffic> Scenarios = new Dictionary<string, LiveExporter.Traffic>
    {
        ["e2e-healthy"] = new(0),
        ["e2e-flaky"] = new(0),
        ["e2e-gated"] = new(0),
        ["e2e-faulty"] = new(20),
        // Sequential rollouts: 50 requests/s per version; 1 % errors on v1, and on v2 1 % (as good), 10 % (worse) or no traffic at all.
        ["seq-healthy"] = new(100, V1ErrorEvery: 100, V1PerTick: 5, V2PerTick: 5),
        ["seq-outage"] = new(100, V1ErrorEvery: 100, V1PerTick: 5, V2PerTick: 5),
        ["seq-faulty"] = new(10, V1ErrorEvery: 100, V1PerTick: 5, V2PerTick: 5),
        ["seq-idle"] = new(0, V1ErrorEvery: 100, V1PerTick: 5, V2PerTick: 0),
        // Early promotion: 200 requests/s per version, both with 10 % errors, so the bounds narrow within seconds.
        ["seq-early"] = new(10, V1ErrorEvery: 10),
    };

    public string Folder { get; } = Directory.CreateTempSubdirectory("canary-prometheus-").FullName;

    public Uri Url => Server.Url;

    public PrometheusServer Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var history = Path.Combine(Folder, "history.om");
        await using (var writer = new StreamWriter(history))
        {
            SyntheticHistory.Write(writer);
        }

        var storage = Path.Combine(Folder, "data");
        await ExternalProcess.RunAsync("promtool", ["tsdb", "create-blocks-from", "openmetrics", history, storage], Folder, TimeSpan.FromMinutes(5));
        File.Delete(history);
        exporter = LiveExporter.Start();
        scenarios.AddRange(Scenarios.Select(s => LiveExporter.Start(s.Key, s.Value)));
        server = await PrometheusServer.StartAsync(Folder, storage, PrometheusServer.Config([exporter.Target, .. scenarios.Select(s => s.Target)]));
    }

    /// <summary>Waits (polling, at most 60 s) until the live exporter of namespace ns was scraped at least count times in the last 30 s (its v2, or v1 for a v2 without traffic).</summary>
    public async Task WaitForScrapesAsync(string ns, int count = 16, string version = "v2")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var query = Uri.EscapeDataString($"count_over_time(http_requests_total{{namespace=\"{ns}\", version=\"{version}\", code=\"200\"}}[30s])");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var body = await http.GetStringAsync(new Uri(Url, $"api/v1/query?query={query}"));
            var result = System.Text.Json.Nodes.JsonNode.Parse(body)?["data"]?["result"]?.AsArray();
            if (result is { Count: 1 } && double.Parse(result[0]!["value"]![1]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) >= count)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Prometheus did not scrape {ns} {count} times within 60 s");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Another Prometheus with empty storage, for a test that stops it or needs its own web config
    /// (TLS, basic auth); probe must be able to pass that config.
    /// </summary>
    public async Task<PrometheusServer> StartSpareAsync(string? webConfigYaml = null, HttpClient? probe = null, bool tls = false)
    {
        var folder = SpareFolder();
        return await PrometheusServer.StartAsync(folder, Path.Combine(folder, "data"), PrometheusServer.Config(), webConfigYaml, probe, tls);
    }

    /// <summary>A new empty folder inside the fixture's, removed with it.</summary>
    public string SpareFolder() => Directory.CreateDirectory(Path.Combine(Folder, $"spare-{Guid.NewGuid():N}")).FullName;

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (exporter is not null)
        {
            await exporter.DisposeAsync();
        }

        foreach (var scenario in scenarios)
        {
            await scenario.DisposeAsync();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
