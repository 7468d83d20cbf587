using System.Net;
using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>Rollouts through the API: a real release (emulator, live exporters, a closed confirm-promotion gate) read, paused, resumed and approved.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class RolloutApiTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private ServeHost serve = null!;
    private GateServer gate = null!;

    public async Task InitializeAsync()
    {
        await prometheus.WaitForScrapesAsync("e2e-gated");
        gate = await GateServer.StartAsync();
        serve = await ServeHost.StartAsync(prometheus.Url, anonymousRead: true);
    }

    public async Task DisposeAsync()
    {
        await serve.DisposeAsync();
        await gate.DisposeAsync();
    }

    [Fact]
    public async Task Anyone_reads_a_release_with_its_steps_decisions_analyses_when_reads_are_open()
    {
        using var anyone = serve.Client(null);
        await WaitAtTheGateAsync(anyone);

        // Reads are open here (Api:AnonymousRead): the list and the whole rollout, with its steps, decisions and analyses.
        var list = await ServeHost.ReadJsonAsync(await anyone.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative)));
        Assert.Contains(list["items"]!.AsArray(), r => r!["namespace"]!.GetValue<string>() == "e2e-gated" && r["name"]!.GetValue<string>() == "checkout");
        var rollout = (await RolloutAsync(anyone))!;
        Assert.Equal([20, 50], rollout["steps"]!.AsArray().Select(s => s!.GetValue<int>()));
        Assert.Equal(50, rollout["weight"]!.GetValue<int>());
        Assert.Contains(rollout["decisions"]!.AsArray(), d => d!["reason"]!.GetValue<string>().Contains("canary weight 20 % → 50 %", StringComparison.Ordinal));
        var summary = rollout["analyses"]!.AsArray().First(a => a!["verdict"]!.GetValue<string>() == "Pass")!;
        Assert.Equal("Pass", summary["metrics"]![0]!["classification"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_rollouts_analysis_reads_as_the_store_keeps_it_samples_included()
    {
        using var anyone = serve.Client(null);
        await WaitAtTheGateAsync(anyone);

        var rollout = (await RolloutAsync(anyone))!;
        var summary = rollout["analyses"]!.AsArray().First(a => a!["verdict"]!.GetValue<string>() == "Pass")!;
        var analysis = await ServeHost.ReadJsonAsync(await anyone.GetAsync(new Uri(summary["location"]!.GetValue<string>(), UriKind.Relative)));
        Assert.Equal(summary["id"]!.GetValue<string>(), analysis["id"]!.GetValue<string>());
        // The analysis as the store keeps it, samples and all.
        await using (var stored = new SqliteAnalysisStore(Path.Combine(serve.Folder, "canary.db")))
        {
            var record = (await stored.GetAnalysisAsync(Guid.Parse(summary["id"]!.GetValue<string>()), CancellationToken.None))!;
            Assert.Equal(JsonNode.Parse(record.ResultJson)!["series"]!.ToJsonString(), analysis["result"]!["series"]!.ToJsonString());
            Assert.Equal(16, analysis["result"]!["series"]!["error rate"]!["control"]!.AsArray().Count);
        }
    }

    [Fact]
    public async Task An_unknown_rollout_is_a_404()
    {
        using var anyone = serve.Client(null);
        using var missing = await anyone.GetAsync(new Uri("/api/v1/rollouts/e2e-gated/nothing", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Mutations_need_an_operator_token_whatever_reads_allow()
    {
        using var anyone = serve.Client(null);
        using var refused = await anyone.PostAsync(new Uri("/api/v1/rollouts/e2e-gated/checkout/pause", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task An_operator_pauses_a_release_through_the_API_then_resumes_it()
    {
        using var anyone = serve.Client(null);
        await WaitAtTheGateAsync(anyone);

        using var @operator = serve.Client(ServeHost.OperatorToken);
        await SendAsync(@operator, "pause");
        await Poll.UntilAsync(async () => (await RolloutAsync(anyone))?["paused"]?.GetValue<bool>() == true, "the rollout to pause");
        await SendAsync(@operator, "resume");
        await Poll.UntilAsync(async () => (await RolloutAsync(anyone))?["paused"]?.GetValue<bool>() == false, "the rollout to resume");
        Assert.Equal("WaitingPromotion", (await RolloutAsync(anyone))!["phase"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_operator_approves_a_release_through_the_API()
    {
        using var anyone = serve.Client(null);
        await WaitAtTheGateAsync(anyone);

        using var @operator = serve.Client(ServeHost.OperatorToken);
        await SendAsync(@operator, "approve");
        await Poll.UntilAsync(async () => (await RolloutAsync(anyone))?["phase"]?.GetValue<string>() == "Succeeded", "the approved release to be promoted", TimeSpan.FromMinutes(1));
        Assert.False(gate.Open);
        Assert.Contains("API: Approve sent to rollout e2e-gated/checkout by release-operator", serve.Output, StringComparison.Ordinal);
    }

    /// <summary>Starts the gated release and waits until it waits at its confirm-promotion gate.</summary>
    private async Task WaitAtTheGateAsync(HttpClient anyone)
    {
        serve.StartGatedRelease(new Uri(gate.Url, "promote"));
        await Poll.UntilAsync(async () => (await RolloutAsync(anyone))?["phase"]?.GetValue<string>() == "Initialized", "the rollout to be initialized");
        serve.ReleaseVersion2();
        await Poll.UntilAsync(async () => (await RolloutAsync(anyone))?["phase"]?.GetValue<string>() == "WaitingPromotion", "the release to wait at the gate", TimeSpan.FromMinutes(2));
    }

    private static async Task SendAsync(HttpClient client, string command)
    {
        using var answer = await client.PostAsync(new Uri($"/api/v1/rollouts/e2e-gated/checkout/{command}", UriKind.Relative), null);
        Assert.True(answer.StatusCode == HttpStatusCode.Accepted, await answer.Content.ReadAsStringAsync());
    }

    private static async Task<JsonNode?> RolloutAsync(HttpClient client)
    {
        using var answer = await client.GetAsync(new Uri("/api/v1/rollouts/e2e-gated/checkout", UriKind.Relative));
        return answer.IsSuccessStatusCode ? await ServeHost.ReadJsonAsync(answer) : null;
    }
}
