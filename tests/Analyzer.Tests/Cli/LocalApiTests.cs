using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>
/// `canary local --urls` as users run it: local processes behind a real HAProxy, and the HTTP API
/// in the same process, through which a release waiting at its confirm-promotion gate is approved.
/// </summary>
public sealed class LocalApiTests : IAsyncLifetime
{
    private const string Token = "local-operator-3e9d";
    private readonly string folder = Directory.CreateTempSubdirectory("canary-local-api-").FullName;
    private readonly string marker = $"t{Guid.NewGuid():N}"[..12];
    private HaproxyServer haproxy = null!;
    private GateServer gate = null!;

    public async Task InitializeAsync()
    {
        haproxy = await HaproxyServer.StartAsync();
        gate = await GateServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await gate.DisposeAsync();
        await haproxy.DisposeAsync();
        Processes.KillMatching(marker);
        Processes.KillMatching(folder);
    }

    [Fact]
    public async Task A_local_release_waiting_at_its_gate_is_promoted_once_approved_through_the_API()
    {
        var processFile = Path.Combine(folder, "checkout.process.yaml");
        WriteProcessFile(processFile, "v1");
        var canaryFile = Path.Combine(folder, "checkout.canary.yaml");
        await File.WriteAllTextAsync(canaryFile, CanaryYaml($"{{interval: 1s, webhooks: [{{name: release-manager, type: confirm-promotion, url: \"{new Uri(gate.Url, "promote").AbsoluteUri}\"}}]}}"));
        var (local, api) = StartLocal(canaryFile);
        using var started = local;
        using var client = api;
        async Task<string?> Phase()
        {
            try
            {
                using var answer = await api.GetAsync(new Uri("/api/v1/rollouts/shop/checkout", UriKind.Relative));
                return answer.IsSuccessStatusCode ? JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["phase"]!.GetValue<string>() : null;
            }
            catch (HttpRequestException)
            {
                return local.HasExited ? throw new InvalidOperationException($"canary local exited:\n{local.Output}") : null;
            }
        }

        await Poll.UntilAsync(async () => await Phase() == "Initialized", "v1 to be the primary");
        WriteProcessFile(processFile, "v2");
        await Poll.UntilAsync(async () => await Phase() == "WaitingPromotion", "v2 to wait at the gate");
        using var users = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal($"hello from v1-{marker}\n", await users.GetStringAsync(new Uri("/", UriKind.Relative)));

        using (var approved = await api.PostAsync(new Uri("/api/v1/rollouts/shop/checkout/approve", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        }

        await Poll.UntilAsync(async () => await Phase() == "Succeeded", "the approved release to be promoted");
        Assert.Equal($"hello from v2-{marker}\n", await users.GetStringAsync(new Uri("/", UriKind.Relative)));
        // The approval was carried out by exactly one stored tick, under the id local mode's inbox gave it.
        var decisions = JsonNode.Parse(await api.GetStringAsync(new Uri("/api/v1/rollouts/shop/checkout/decisions?limit=500", UriKind.Relative)))!["items"]!.AsArray();
        var approval = Assert.Single(decisions, d => d!["commands"]?.GetValue<string>() is not null)!;
        Assert.Equal("approve", approval["commands"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{32}$", approval["commandId"]!.GetValue<string>());
        Assert.False(gate.Open);
    }

    [Fact]
    public async Task Approving_a_rollout_local_mode_does_not_run_is_a_404()
    {
        var (local, api) = await StartReadyAsync();
        using var started = local;
        using var client = api;
        using var unknown = await api.PostAsync(new Uri("/api/v1/rollouts/shop/other/approve", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Canary_local_reports_its_store_in_readyz()
    {
        var (local, api) = await StartReadyAsync();
        using var started = local;
        using var client = api;
        using var ready = await api.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal("ok\n", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Canary_local_logs_no_line_per_HTTP_request()
    {
        var (local, api) = await StartReadyAsync();
        using var started = local;
        using var client = api;
        for (var i = 0; i < 5; i++)
        {
            (await api.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).EnsureSuccessStatusCode();
        }

        await Poll.UntilAsync(() => local.Output.Contains("rollout shop/checkout", StringComparison.Ordinal), "canary local to log its rollout");
        Assert.DoesNotContain("Request starting", local.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("GET /api/v1/rollouts", local.Output, StringComparison.Ordinal);
    }

    /// <summary>canary local with checkout's Canary, once /readyz answers.</summary>
    private async Task<(ExternalProcess Local, HttpClient Api)> StartReadyAsync()
    {
        WriteProcessFile(Path.Combine(folder, "checkout.process.yaml"), "v1");
        var canaryFile = Path.Combine(folder, "checkout.canary.yaml");
        await File.WriteAllTextAsync(canaryFile, CanaryYaml("{interval: 1s}"));
        var (local, api) = StartLocal(canaryFile);
        await Poll.UntilAsync(async () =>
        {
            try
            {
                using var ready = await api.GetAsync(new Uri("/readyz", UriKind.Relative));
                return ready.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return local.HasExited ? throw new InvalidOperationException($"canary local exited:\n{local.Output}") : false;
            }
        }, "canary local to be ready");
        return (local, api);
    }

    private string CanaryYaml(string analysis) => LocalFiles.Canary(haproxy.Socket, analysis);

    /// <summary>canary local with the API on a free port and an operator's token, and a client of it.</summary>
    private (ExternalProcess Local, HttpClient Api) StartLocal(string canaryFile)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}/");
        var local = ExternalProcess.Start(Path.Combine(AppContext.BaseDirectory, "canary"),
            ["local", canaryFile, "--prometheus", "http://127.0.0.1:9", "--urls", url.AbsoluteUri.TrimEnd('/'), "--state", Path.Combine(folder, "state"), "--store", $"sqlite:{Path.Combine(folder, "canary.db")}"],
            folder,
            new Dictionary<string, string> { ["CANARY__Api__Tokens__0__Name"] = "release-operator", ["CANARY__Api__Tokens__0__Role"] = "Operator", ["CANARY__Api__Tokens__0__Token"] = Token });
        var api = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return (local, api);
    }

    private void WriteProcessFile(string path, string version) =>
        File.WriteAllText(path, LocalFiles.SampleService($"{version}-{marker}"));
}
