using System.Globalization;

namespace Canary.Testing;

/// <summary>
/// The real Prometheus from Debian's package, started on 127.0.0.1 on a free port with its own
/// config and storage folder. Disposing stops it.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly ExternalProcess process;

    private PrometheusServer(ExternalProcess process, Uri url)
    {
        this.process = process;
        Url = url;
    }

    public Uri Url { get; }

    public string Output => process.Output;

    /// <summary>
    /// Starts Prometheus on storage (which may already hold blocks) and waits until /-/ready answers
    /// 200. webConfigYaml is Prometheus's --web.config.file (TLS, basic auth); probe is the client
    /// that can pass it, and tls makes the URL https.
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(string folder, string storage, string configYaml, string? webConfigYaml = null, HttpClient? probe = null, bool tls = false)
    {
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, configYaml);
        var port = FreePort.Next();
        List<string> web = [];
        if (webConfigYaml is not null)
        {
            var webConfig = Path.Combine(folder, "web.yml");
            await File.WriteAllTextAsync(webConfig, webConfigYaml);
            web.Add($"--web.config.file={webConfig}");
        }

        var process = ExternalProcess.Start("prometheus",
        [
            .. web,
            $"--config.file={config}",
            $"--storage.tsdb.path={storage}",
            $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            // History is backfilled at fixed past times; keep it whatever the date.
            "--storage.tsdb.retention.time=100y",
            "--log.level=warn",
        ], folder);
        var server = new PrometheusServer(process, new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{port}/"));
        using var own = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var http = probe ?? own;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited at start:\n{process.Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(server.Url, "-/ready"));
                if (response.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                process.Dispose();
                throw new TimeoutException($"prometheus was not ready within 60 s:\n{process.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A scrape config for the given targets, scraped every second.</summary>
    public static string Config(params string[] targets) => $$"""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: live
            static_configs:
              - targets: [{{string.Join(", ", targets.Select(t => $"\"{t}\""))}}]
        """;

    /// <summary>Stops the server at once, as a crash would.</summary>
    public void Kill() => process.Kill();

    public ValueTask DisposeAsync()
    {
        process.Dispose();
        return ValueTask.CompletedTask;
    }
}
