using System.Net;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>
/// The API on a PostgreSQL store (its own server: this collection shares Prometheus), with a fault
/// proxy in front of Prometheus: configs and analyses are kept there, and an analysis that meets a
/// Prometheus that is down fails with the reason, is kept, and takes nothing else down.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class ApiOnPostgresTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    /// <summary>The analysis of the synthetic history's errors namespace by the config named http.</summary>
    private static readonly string Body = $$"""
        {"service": "checkout", "configName": "http", "variables": {"namespace": "errors"},
         "control": "pod=~\"checkout-primary-.*\"", "experiment": "pod=~\"checkout-canary-.*\"",
         "start": "2026-11-02T10:30:00Z", "end": "{{SyntheticHistory.WindowEnd:yyyy-MM-ddTHH:mm:ssZ}}"}
        """;

    private readonly PostgresServer postgres = new();
    private FaultProxy proxy = null!;
    private ServeHost serve = null!;

    public async Task InitializeAsync()
    {
        await postgres.InitializeAsync();
        proxy = await FaultProxy.StartAsync(prometheus.Url);
        var database = await postgres.CreateDatabaseAsync();
        serve = await ServeHost.StartAsync(proxy.Url, $"postgres:{postgres.ConnectionString(database)}");
    }

    public async Task DisposeAsync()
    {
        await serve.DisposeAsync();
        await proxy.DisposeAsync();
        await postgres.DisposeAsync();
    }

    [Fact]
    public async Task A_config_put_into_PostgreSQL_runs_analyses_kept_there()
    {
        using var admin = serve.Client(ServeHost.AdminToken);
        await PutConfigAsync(admin);
        var failing = await RunAsync(admin, Body);
        Assert.Equal(("Succeeded", "Fail"), (failing["status"]!.GetValue<string>(), failing["verdict"]!.GetValue<string>()));

        var history = await ServeHost.ReadJsonAsync(await admin.GetAsync(new Uri("/api/v1/analyses?service=checkout", UriKind.Relative)));
        Assert.Equal(["Succeeded"], history["items"]!.AsArray().Select(i => i!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_Prometheus_outage_fails_the_analysis_with_its_reason()
    {
        using var admin = serve.Client(ServeHost.AdminToken);
        await PutConfigAsync(admin);
        await RunAsync(admin, Body);

        proxy.Down = true;
        var outage = await RunAsync(admin, Body);
        Assert.Equal("Failed", outage["status"]!.GetValue<string>());
        Assert.Null(outage["verdict"]);
        Assert.Contains("Prometheus", outage["error"]!.GetValue<string>(), StringComparison.Ordinal);
        proxy.Down = false;

        // The failed analysis is kept, beside the one before the outage.
        var history = await ServeHost.ReadJsonAsync(await admin.GetAsync(new Uri("/api/v1/analyses?service=checkout", UriKind.Relative)));
        Assert.Equal(["Failed", "Succeeded"], history["items"]!.AsArray().Select(i => i!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_store_that_fails_at_runtime_is_a_503_naming_it()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        (await viewer.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).EnsureSuccessStatusCode();

        await postgres.StopAsync();
        var problem = await ServeHost.ProblemAsync(await viewer.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative)), HttpStatusCode.ServiceUnavailable);
        Assert.StartsWith($"the store {Store} cannot be used: ", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("store", problem["errors"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Readyz_reports_a_store_that_fails_at_runtime_while_healthz_stays_OK()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        (await viewer.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).EnsureSuccessStatusCode();

        await postgres.StopAsync();
        using (var ready = await viewer.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.StartsWith($"not ready: the store {Store} cannot be read", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var alive = await viewer.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }
    }

    [Fact]
    public async Task The_API_answers_again_once_its_store_is_back()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await postgres.StopAsync();
        await ServeHost.ProblemAsync(await viewer.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative)), HttpStatusCode.ServiceUnavailable);

        await postgres.StartAsync();
        await Poll.UntilAsync(async () => (await viewer.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).IsSuccessStatusCode, "the API to answer again once PostgreSQL is back");
    }

    /// <summary>How serve names its store in problems and in /readyz.</summary>
    private string Store => $"postgres:127.0.0.1:{postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}/canary_1";

    /// <summary>Puts examples/canary/http.yaml as the config named http.</summary>
    private static async Task PutConfigAsync(HttpClient admin)
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "canary", "http.yaml"));
        using var put = await admin.PutAsync(new Uri("/api/v1/configs/http", UriKind.Relative), new StringContent(yaml));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    private static async Task<JsonNode> RunAsync(HttpClient client, string body) => (await ServeHost.RunAnalysisAsync(client, body, TimeSpan.FromMinutes(2))).Done;
}
