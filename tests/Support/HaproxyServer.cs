using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing;

/// <summary>
/// The real HAProxy 2.6 from Debian's package on loopback: a frontend in front of a backend
/// "checkout" with the servers "primary" (answers "v1") and "canary" (answers "v2"), and the
/// runtime API on a unix socket and a TCP port, both at level admin.
/// </summary>
public sealed class HaproxyServer : IAsyncDisposable
{
    private readonly ExternalProcess process;
    private readonly WebApplication v1;
    private readonly WebApplication v2;

    private HaproxyServer(ExternalProcess process, WebApplication v1, WebApplication v2, string folder, int port, int apiPort)
    {
        this.process = process;
        this.v1 = v1;
        this.v2 = v2;
        Folder = folder;
        Url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        Socket = Path.Combine(folder, "admin.sock");
        TcpApi = $"127.0.0.1:{apiPort.ToString(CultureInfo.InvariantCulture)}";
    }

    public string Folder { get; }

    /// <summary>The frontend.</summary>
    public Uri Url { get; }

    /// <summary>The runtime API's unix socket.</summary>
    public string Socket { get; }

    /// <summary>The runtime API's host:port.</summary>
    public string TcpApi { get; }

    public bool HasExited => process.HasExited;

    public static async Task<HaproxyServer> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("canary-haproxy-").FullName;
        var (v1, v1Url) = await LoopbackHost.StartAsync(context => context.Response.WriteAsync("v1"));
        var (v2, v2Url) = await LoopbackHost.StartAsync(context => context.Response.WriteAsync("v2"));
        var (port, apiPort) = (FreePort.Next(), FreePort.Next());
        var config = Path.Combine(folder, "haproxy.cfg");
        await File.WriteAllTextAsync(config, $"""
            global
                stats socket {folder}/admin.sock mode 600 level admin
                stats socket ipv4@127.0.0.1:{apiPort} level admin
            defaults
                mode http
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend web
                bind 127.0.0.1:{port}
                default_backend checkout
            backend checkout
                balance roundrobin
                server primary {v1Url.Authority} weight 100
                server canary {v2Url.Authority} weight 0

            """);
        var process = ExternalProcess.Start("haproxy", ["-f", config, "-db"], folder);
        var server = new HaproxyServer(process, v1, v2, folder, port, apiPort);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"haproxy exited at start:\n{process.Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                if (File.Exists(server.Socket))
                {
                    return server;
                }
            }
            catch (SocketException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"haproxy did not listen within 30 s:\n{process.Output}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        process.Dispose();
        await v1.StopAsync();
        await v1.DisposeAsync();
        await v2.StopAsync();
        await v2.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}
