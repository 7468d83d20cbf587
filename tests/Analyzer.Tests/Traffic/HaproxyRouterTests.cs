using Canary.Analyzer.Traffic;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>The HAProxy router against a real HAProxy 2.6, through its runtime API, with real requests through the frontend.</summary>
public sealed class HaproxyRouterTests : IAsyncLifetime
{
    private HaproxyServer haproxy = null!;

    public async Task InitializeAsync() => haproxy = await HaproxyServer.StartAsync();

    public async Task DisposeAsync() => await haproxy.DisposeAsync();

    private RouterTarget Target(bool tcp = false) => new("local", "checkout") { RuntimeApi = tcp ? haproxy.TcpApi : haproxy.Socket };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Weights_move_step_by_step_over_the_socket_or_TCP_reading_back_as_set(bool tcp)
    {
        var router = new HaproxyRouter(TimeProvider.System);
        await router.ReconcileAsync(Target(tcp), CancellationToken.None);
        Assert.Equal(Routing.AllPrimary, await router.GetRoutingAsync(Target(tcp), CancellationToken.None));
        foreach (var weight in new[] { 0, 10, 25, 50, 75, 100, 0 })
        {
            await router.SetRoutingAsync(Target(tcp), new Routing(weight), CancellationToken.None);
            Assert.Equal(new Routing(weight), await router.GetRoutingAsync(Target(tcp), CancellationToken.None));
        }
    }

    [Fact]
    public async Task Traffic_through_HAProxy_follows_the_weights()
    {
        var router = new HaproxyRouter(TimeProvider.System);
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal("v1", await client.GetStringAsync(new Uri("/", UriKind.Relative)));

        await router.SetRoutingAsync(Target(), new Routing(30), CancellationToken.None);
        var answers = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            answers.Add(await client.GetStringAsync(new Uri("/", UriKind.Relative)));
        }

        Assert.InRange(answers.Count(a => a == "v2"), 25, 35);
        await router.SetRoutingAsync(Target(), new Routing(100), CancellationToken.None);
        Assert.Equal("v2", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    [Fact]
    public async Task A_weight_change_drops_no_connection()
    {
        var router = new HaproxyRouter(TimeProvider.System);
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        var connections = await haproxy.FrontendConnectionsAsync();
        await client.GetStringAsync(new Uri("/", UriKind.Relative));

        // The same keep-alive connection carries on across the change: HAProxy is not reloaded.
        foreach (var weight in new[] { 30, 100 })
        {
            await router.SetRoutingAsync(Target(), new Routing(weight), CancellationToken.None);
            await client.GetStringAsync(new Uri("/", UriKind.Relative));
        }

        Assert.False(haproxy.HasExited);
        Assert.Equal(1, await haproxy.FrontendConnectionsAsync() - connections);
    }

    /// <summary>
    /// A promotion in local mode points the primary slot at the new process and then stops the old
    /// one; here the old one stops answering, holds the requests it is handed until at least five
    /// wait, then dies with them as its slot moves. With docs/haproxy.md's settings HAProxy sends
    /// each of them again and no client sees a failure; without them each is a 502. Every request
    /// has a connection of its own, so no client-side retry hides one.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Requests_held_by_a_process_that_dies_as_its_slot_moves_fail_only_without_the_documented_settings(bool documented)
    {
        await haproxy.DisposeAsync();
        haproxy = await HaproxyServer.StartAsync(retireSafely: documented);
        using var load = new Canary.Analyzer.Cli.Demo.LoadGenerator(haproxy.Url, 200, TimeProvider.System) { ConnectionPerRequest = true };
        using var stop = new CancellationTokenSource();
        var loading = load.RunAsync(stop.Token);
        await Poll.UntilAsync(() => load.Counts.Requests >= 300, "300 requests through HAProxy", TimeSpan.FromMinutes(1));

        haproxy.HoldV1();
        await Poll.UntilAsync(() => haproxy.UnansweredByV1 >= 5, "v1 to hold five requests", TimeSpan.FromMinutes(1));
        var answer = await haproxy.CommandAsync($"set server checkout/primary addr 127.0.0.1 port {haproxy.Spare.Port}");
        Assert.True(answer.Trim().Length == 0 || answer.Contains("changed", StringComparison.Ordinal), answer);
        await haproxy.KillV1Async();
        var after = load.Counts.Requests;
        await Poll.UntilAsync(() => load.Counts.Requests >= after + 300, "300 more requests", TimeSpan.FromMinutes(1));
        await stop.CancelAsync();
        await loading;

        Assert.Equal(documented ? 0 : haproxy.UnansweredByV1, load.Counts.Failures);
        using var client = new HttpClient { BaseAddress = haproxy.Url };
        Assert.Equal("v3", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
    }

    [Fact]
    public async Task No_request_fails_while_weights_change_under_load()
    {
        var router = new HaproxyRouter(TimeProvider.System);
        using var load = new Canary.Analyzer.Cli.Demo.LoadGenerator(haproxy.Url, 200, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var loading = load.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (load.Counts.Requests < 600)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {load.Counts.Requests} requests sent in a minute");
            foreach (var weight in new[] { 0, 10, 25, 50, 75, 100, 60, 30, 5 })
            {
                await router.SetRoutingAsync(Target(), new Routing(weight), CancellationToken.None);
            }
        }

        await stop.CancelAsync();
        await loading;
        Assert.Equal(0, load.Counts.Failures);
        Assert.True(load.Counts.Requests >= 600);
    }

    [Fact]
    public async Task Errors_of_the_runtime_API_are_reported_as_such()
    {
        var router = new HaproxyRouter(TimeProvider.System);
        var missing = await Assert.ThrowsAsync<RoutingException>(() => router.GetRoutingAsync(Target() with { Backend = "nope" }, CancellationToken.None));
        Assert.Contains("nope", missing.Message, StringComparison.Ordinal);
        var server = await Assert.ThrowsAsync<RoutingException>(() => router.GetRoutingAsync(Target() with { CanaryServer = "green" }, CancellationToken.None));
        Assert.Equal("HAProxy backend checkout has no server green", server.Message);
        var unreachable = await Assert.ThrowsAsync<RoutingException>(() => router.GetRoutingAsync(Target() with { RuntimeApi = Path.Combine(haproxy.Folder, "missing.sock") }, CancellationToken.None));
        Assert.StartsWith($"cannot reach HAProxy's runtime API at {Path.Combine(haproxy.Folder, "missing.sock")}", unreachable.Message, StringComparison.Ordinal);
        var ab = await Assert.ThrowsAsync<RoutingException>(() => router.SetRoutingAsync(Target(), new Routing(0, new RouteMatch("x-canary")), CancellationToken.None));
        Assert.StartsWith("the haproxy router splits traffic by weight only", ab.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Finalizing_restores_the_weights_found()
    {
        var router = new HaproxyRouter(TimeProvider.System);
        await router.ReconcileAsync(Target(), CancellationToken.None);
        await router.SetRoutingAsync(Target(), new Routing(60), CancellationToken.None);
        await router.FinalizeAsync(Target(), CancellationToken.None);
        Assert.Equal(Routing.AllPrimary, await router.GetRoutingAsync(Target(), CancellationToken.None));
    }
}
