using Canary.Analyzer.Documents;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Canary.Analyzer.Cli;

/// <summary>
/// `canary sample-service`: a small HTTP service for demos and tests, instrumented with prometheus-net
/// (http_requests_total{version, code}, http_request_duration_seconds{version}). Its error rate and
/// added latency are set by flags; errors are spread evenly (every Nth request), so a 5 % error rate
/// is exactly 5 % of requests.
/// </summary>
internal static class SampleServiceCommand
{
    public const string Usage = """
        usage: canary sample-service --port PORT [--host 127.0.0.1] [--version v1] [--error-rate 0.05] [--latency 50ms]
          GET /          answers "hello from VERSION" (or 500 with X-Injected-Failure: 1, at the error rate) after the added latency
          GET /healthz   readiness probe
          GET /metrics   Prometheus metrics
        """;

    /// <summary>The response header on every failure the error rate injected.</summary>
    public const string InjectedHeader = "X-Injected-Failure";

    private static readonly HashSet<string> Flags = ["--help"];
    private static readonly HashSet<string> ValueOptions = ["--port", "--host", "--version", "--error-rate", "--latency"];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("sample-service", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var port = line.Option("--port") is { } p && int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed is > 0 and < 65536
            ? parsed
            : throw new InputException($"--port: {(line.Option("--port") is { } given ? $"\"{given}\" is not a port number" : "is required")}");
        var version = line.Option("--version") ?? "v1";
        var errorRate = line.Option("--error-rate") is { } rate
            ? double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r is >= 0 and <= 1 ? r : throw new InputException($"--error-rate: \"{rate}\" is not a number from 0 to 1")
            : 0;
        var latency = line.Option("--latency") is { } text ? TimeArguments.ParseDuration("--latency", text) : TimeSpan.Zero;
        var every = errorRate > 0 ? Math.Max(1, (long)Math.Round(1 / errorRate)) : 0;

        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var requests = factory.CreateCounter("http_requests_total", "Requests served, by version and status code.", new CounterConfiguration { LabelNames = ["version", "code"] });
        var durations = factory.CreateHistogram("http_request_duration_seconds", "Time to answer a request.", new HistogramConfiguration { LabelNames = ["version"] });
        var served = 0L;

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{line.Option("--host") ?? "127.0.0.1"}:{port.ToString(CultureInfo.InvariantCulture)}");
        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapMetrics("/metrics", registry);
        app.MapGet("/", async (HttpContext context) =>
        {
            var started = TimeProvider.System.GetTimestamp();
            if (latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, TimeProvider.System, context.RequestAborted);
            }

            var failed = every > 0 && Interlocked.Increment(ref served) % every == 0;
            requests.WithLabels(version, failed ? "500" : "200").Inc();
            durations.WithLabels(version).Observe(TimeProvider.System.GetElapsedTime(started).TotalSeconds);
            if (failed)
            {
                // Marks the failure as deliberate, so a load generator can tell it from a failure of the routing.
                context.Response.Headers[InjectedHeader] = "1";
                return Results.Text($"injected failure in {version}\n", statusCode: 500);
            }

            return Results.Text($"hello from {version}\n");
        });
        await app.StartAsync(cancellationToken);
        await stdout.WriteLineAsync($"sample service {version} on http://{line.Option("--host") ?? "127.0.0.1"}:{port} (error rate {errorRate.ToString(CultureInfo.InvariantCulture)}, latency {TimeArguments.Format(latency)})");
        return await HostRun.UntilStoppedAsync(app, cancellationToken);
    }
}
