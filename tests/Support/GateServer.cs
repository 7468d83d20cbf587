using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing;

/// <summary>A webhook receiver on 127.0.0.1: answers 200 while Open, 403 otherwise, and counts the calls per path.</summary>
public sealed class GateServer : IAsyncDisposable
{
    private WebApplication app = null!;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> calls = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> log = new();

    public Uri Url { get; private set; } = null!;

    public bool Open { get; set; }

    /// <summary>When set, decides from the webhook's JSON body whether the gate is open (instead of <see cref="Open"/>).</summary>
    public Func<System.Text.Json.Nodes.JsonNode, bool>? OpenWhen { get; set; }

    public int Calls(string path) => calls.GetValueOrDefault(path);

    /// <summary>Every call's path, in the order they arrived.</summary>
    public IReadOnlyList<string> Log => [.. log];

    public static async Task<GateServer> StartAsync()
    {
        var gate = new GateServer();
        (gate.app, gate.Url) = await LoopbackHost.StartAsync(async context =>
        {
            gate.calls.AddOrUpdate(context.Request.Path.Value ?? "/", 1, (_, n) => n + 1);
            gate.log.Enqueue(context.Request.Path.Value ?? "/");
            var open = gate.Open;
            if (gate.OpenWhen is { } when)
            {
                using var reader = new StreamReader(context.Request.Body);
                open = System.Text.Json.Nodes.JsonNode.Parse(await reader.ReadToEndAsync()) is { } body && when(body);
            }

            context.Response.StatusCode = open || context.Request.Path.StartsWithSegments("/always") ? 200 : 403;
        });
        return gate;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
