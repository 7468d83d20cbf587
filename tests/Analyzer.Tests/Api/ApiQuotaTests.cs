using System.Net;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>
/// No caller starves another: real-time analyses (their window ends an hour from now, so they stay
/// unfinished) against per-caller and global limits of 2, and DELETE to stop one.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class ApiQuotaTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private const string RealTime = """
        {"service": "SERVICE", "config": {"metrics": [{"name": "error rate", "template": "http-error-rate"}]},
         "control": "version=\"v1\"", "experiment": "version=\"v2\"", "start": "now", "lifetime": "1h", "step": "1m"}
        """;

    private ServeHost serve = null!;

    public async Task InitializeAsync() => serve = await ServeHost.StartAsync(prometheus.Url, settings: new Dictionary<string, string>
    {
        ["CANARY__Api__MaxPendingAnalyses"] = "3",
        ["CANARY__Api__MaxPendingAnalysesPerCaller"] = "2",
    });

    public async Task DisposeAsync() => await serve.DisposeAsync();

    [Fact]
    public async Task A_caller_at_its_own_limit_gets_429_with_Retry_After()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await StartAsync(viewer, "one");
        await StartAsync(viewer, "two");
        using var refused = await viewer.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), Body("three"));
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(5), TimeSpan.FromHours(1));
        var problem = await ServeHost.ProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains("the token \"ci-viewer\" has 2 unfinished analyses here, the most Api:MaxPendingAnalysesPerCaller (2) allows", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_caller_at_its_own_limit_leaves_other_callers_room()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await StartAsync(viewer, "one");
        await StartAsync(viewer, "two");

        using var @operator = serve.Client(ServeHost.OperatorToken);
        await StartAsync(@operator, "other caller");
    }

    [Fact]
    public async Task The_global_limit_refuses_callers_below_admin_but_never_an_admin()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        using var @operator = serve.Client(ServeHost.OperatorToken);
        await StartAsync(viewer, "v1");
        await StartAsync(viewer, "v2");
        await StartAsync(@operator, "o1");
        using var refused = await @operator.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), Body("o2"));
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(5), TimeSpan.FromHours(1));
        var problem = await ServeHost.ProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains("the most Api:MaxPendingAnalyses (3) allows for callers below admin", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var admin = serve.Client(ServeHost.AdminToken);
        await StartAsync(admin, "admin");
    }

    [Fact]
    public async Task The_callers_DELETE_ends_its_analysis_Cancelled()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var location = await StartAsync(viewer, "stop me");
        using (var stopped = await viewer.DeleteAsync(location))
        {
            Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        }

        var analysis = await ServeHost.ReadJsonAsync(await viewer.GetAsync(location));
        Assert.Equal(("Cancelled", "cancelled by ci-viewer"), (analysis["status"]!.GetValue<string>(), analysis["error"]!.GetValue<string>()));

        // The runner itself stopped (its last word), not only the stored record.
        await Poll.UntilAsync(() => serve.Output.Contains($"analysis {analysis["id"]!.GetValue<string>()} of stop me: Cancelled", StringComparison.Ordinal), "the runner to stop");
    }

    [Fact]
    public async Task A_stopped_analysis_cannot_be_stopped_again()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var location = await StopAsync(viewer, "stop me");
        await ServeHost.ProblemAsync(await viewer.DeleteAsync(location), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_stopped_analysis_frees_its_place_under_the_callers_limit()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await StopAsync(viewer, "stop me");

        // Its place is free again: two more fit under the limit of 2.
        await StartAsync(viewer, "again 1");
        await StartAsync(viewer, "again 2");
    }

    [Fact]
    public async Task Only_the_caller_or_an_admin_may_stop_an_analysis()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var location = await StartAsync(viewer, "someone else's");
        using var @operator = serve.Client(ServeHost.OperatorToken);
        var refused = await ServeHost.ProblemAsync(await @operator.DeleteAsync(location), HttpStatusCode.Forbidden);
        Assert.Contains("was asked for by \"ci-viewer\"", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var admin = serve.Client(ServeHost.AdminToken);
        (await admin.DeleteAsync(location)).EnsureSuccessStatusCode();
        await Poll.UntilAsync(async () => (await ServeHost.ReadJsonAsync(await viewer.GetAsync(location)))["status"]!.GetValue<string>() == "Cancelled", "the analysis to be cancelled");
        Assert.Equal("cancelled by platform-admin", (await ServeHost.ReadJsonAsync(await viewer.GetAsync(location)))["error"]!.GetValue<string>());
    }

    /// <summary>Starts an analysis, stops it with DELETE, and waits until its runner has stopped.</summary>
    private async Task<Uri> StopAsync(HttpClient client, string service)
    {
        var location = await StartAsync(client, service);
        (await client.DeleteAsync(location)).EnsureSuccessStatusCode();
        var id = (await ServeHost.ReadJsonAsync(await client.GetAsync(location)))["id"]!.GetValue<string>();
        await Poll.UntilAsync(() => serve.Output.Contains($"analysis {id} of {service}: Cancelled", StringComparison.Ordinal), "the runner to stop");
        return location;
    }

    private static StringContent Body(string service) => ServeHost.Json(RealTime.Replace("SERVICE", service, StringComparison.Ordinal));

    private static async Task<Uri> StartAsync(HttpClient client, string service)
    {
        using var accepted = await client.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), Body(service));
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        return accepted.Headers.Location!;
    }
}
