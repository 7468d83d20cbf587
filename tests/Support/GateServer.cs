using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Canary.Testing;

/// <summary>A webhook receiver on 127.0.0.1: answers 200 while Open, 403 otherwise, and counts the calls per path.</summary>
public sealed class GateServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> calls = new(StringComparer.Ordinal);

    private GateServer(WebApplication app) => this.app = app;

    public Uri Url { get; private set; } = null!;

    public bool Open { get; set; }

    public int Calls(string path) => calls.GetValueOrDefault(path);

    public static async Task<GateServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var gate = new GateServer(app);
        app.Run(context =>
        {
            gate.calls.AddOrUpdate(context.Request.Path.Value ?? "/", 1, (_, n) => n + 1);
            context.Response.StatusCode = gate.Open || context.Request.Path.StartsWithSegments("/always") ? 200 : 403;
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        gate.Url = new Uri(address.EndsWith('/') ? address : address + "/");
        return gate;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
