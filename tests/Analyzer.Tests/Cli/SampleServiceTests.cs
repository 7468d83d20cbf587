using System.Net;
using Canary.Analyzer.Cli;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>`canary sample-service`: the demo's instrumented service, with the error rate and latency it is told.</summary>
public sealed class SampleServiceTests
{
    [Fact]
    public async Task It_fails_exactly_the_share_of_requests_it_is_told()
    {
        var served = await ServeAHundredRequestsAsync();
        Assert.Equal(5, served.Codes.Count(c => c == HttpStatusCode.InternalServerError));
    }

    [Fact]
    public async Task It_counts_its_requests_for_Prometheus()
    {
        var served = await ServeAHundredRequestsAsync();
        Assert.Contains("http_requests_total{version=\"v2\",code=\"500\"} 5", served.Metrics, StringComparison.Ordinal);
        Assert.Contains("http_requests_total{version=\"v2\",code=\"200\"} 95", served.Metrics, StringComparison.Ordinal);
        Assert.Contains("http_request_duration_seconds_count{version=\"v2\"} 100", served.Metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_request_waits_the_latency_it_is_told()
    {
        var served = await ServeAHundredRequestsAsync();
        // Every request waited the added 5 ms before answering (timers fire late, never much early).
        var sum = served.Metrics.Split('\n').Single(l => l.StartsWith("http_request_duration_seconds_sum{version=\"v2\"}", StringComparison.Ordinal));
        Assert.True(double.Parse(sum.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 0.4, sum);
    }

    [Fact]
    public async Task It_says_what_it_serves_then_stops_cleanly_when_cancelled()
    {
        var served = await ServeAHundredRequestsAsync();
        Assert.Equal(0, served.ExitCode);
        Assert.StartsWith($"sample service v2 on http://127.0.0.1:{served.Port} (error rate 0.05, latency 5ms)", served.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "sample-service" }, "canary sample-service: --port: is required")]
    [InlineData(new[] { "sample-service", "--port", "80000" }, "canary sample-service: --port: \"80000\" is not a port number")]
    [InlineData(new[] { "sample-service", "--port", "8080", "--error-rate", "2" }, "canary sample-service: --error-rate: \"2\" is not a number from 0 to 1")]
    public async Task Bad_flags_exit_2(string[] args, string message)
    {
        var run = await Support.CanaryRunner.RunAsync(args);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal([message], run.ErrorLines);
    }

    /// <summary>Runs canary sample-service v2 (5 % errors, 5 ms latency) until it answers, sends it 100 requests, reads its /metrics, then stops it.</summary>
    private static async Task<Served> ServeAHundredRequestsAsync()
    {
        var port = FreePort.Next();
        using var stop = new CancellationTokenSource();
        using var output = new StringWriter();
        var service = CanaryCli.RunAsync(["sample-service", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--version", "v2", "--error-rate", "0.05", "--latency", "5ms"],
            TextReader.Null, output, TextWriter.Null, TimeProvider.System, stop.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri("healthz", UriKind.Relative))).IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(50);
        }

        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 100; i++)
        {
            using var response = await http.GetAsync(new Uri("/", UriKind.Relative));
            codes.Add(response.StatusCode);
        }

        var metrics = await http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        await stop.CancelAsync();
        var exitCode = await service;
        return new Served(port, codes, metrics, exitCode, output.ToString());
    }

    /// <summary>What one run of the sample service answered, exported and printed.</summary>
    private sealed record Served(int Port, List<HttpStatusCode> Codes, string Metrics, int ExitCode, string Output);
}
