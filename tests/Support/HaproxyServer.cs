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
    private readonly WebApplication v3;
    private readonly System.Runtime.CompilerServices.StrongBox<bool> dying;
    private readonly System.Runtime.CompilerServices.StrongBox<int> unanswered;
    private readonly System.Runtime.CompilerServices.StrongBox<TaskCompletionSource> held;

    private HaproxyServer(ExternalProcess process, WebApplication v1, WebApplication v2, WebApplication v3, Uri v3Url, System.Runtime.CompilerServices.StrongBox<bool> dying, System.Runtime.CompilerServices.StrongBox<int> unanswered, System.Runtime.CompilerServices.StrongBox<TaskCompletionSource> held, string folder, int port, int apiPort)
    {
        this.dying = dying;
        this.unanswered = unanswered;
        this.held = held;
        this.process = process;
        this.v1 = v1;
        this.v2 = v2;
        this.v3 = v3;
        Spare = v3Url;
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

    /// <summary>A third server, answering "v3", behind no slot yet: where a promotion points the primary slot.</summary>
    public Uri Spare { get; }

    /// <summary>
    /// Starts HAProxy; with retireSafely, the settings docs/haproxy.md gives for retiring a server's
    /// process without a failed request (one request per server connection, retries on a refused or
    /// empty answer, redispatch).
    /// </summary>
    public static async Task<HaproxyServer> StartAsync(bool retireSafely = true)
    {
        var folder = Directory.CreateTempSubdirectory("canary-haproxy-").FullName;
        var dying = new System.Runtime.CompilerServices.StrongBox<bool>();
        var unanswered = new System.Runtime.CompilerServices.StrongBox<int>();
        var held = new System.Runtime.CompilerServices.StrongBox<TaskCompletionSource>(Answered());
        var (v1, v1Url) = await LoopbackHost.StartAsync(async context =>
        {
            // Every request v1 is handed counts as unanswered until it is answered: those it held when it died stay so.
            Interlocked.Increment(ref unanswered.Value);
            await held.Value!.Task.WaitAsync(context.RequestAborted);
            if (Volatile.Read(ref dying.Value))
            {
                // A process going away: the request it was handed gets no answer.
                context.Abort();
                return;
            }

            await context.Response.WriteAsync("v1", context.RequestAborted);
            Interlocked.Decrement(ref unanswered.Value);
        });
        var (v2, v2Url) = await LoopbackHost.StartAsync(context => context.Response.WriteAsync("v2"));
        var (v3, v3Url) = await LoopbackHost.StartAsync(context => context.Response.WriteAsync("v3"));
        var retirement = retireSafely ? "option http-server-close\n    retries 3\n    retry-on conn-failure empty-response\n    option redispatch" : string.Empty;
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
                {retirement}
            frontend web
                bind 127.0.0.1:{port}
                default_backend checkout
            backend checkout
                balance roundrobin
                server primary {v1Url.Authority} weight 100
                server canary {v2Url.Authority} weight 0

            """);
        var process = ExternalProcess.Start("haproxy", ["-f", config, "-db"], folder);
        var server = new HaproxyServer(process, v1, v2, v3, v3Url, dying, unanswered, held, folder, port, apiPort);
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

    private static TaskCompletionSource Answered()
    {
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        answered.SetResult();
        return answered;
    }

    /// <summary>Requests v1 was handed and never answered (those it held when it died).</summary>
    public int UnansweredByV1 => Volatile.Read(ref unanswered.Value);

    /// <summary>From now on v1 holds every request it is handed, unanswered, as a process does in its last moments.</summary>
    public void HoldV1() => held.Value = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The primary slot's first server (v1) dies: every request it holds or is handed from now on gets no answer, then it stops.</summary>
    public async Task KillV1Async()
    {
        Volatile.Write(ref dying.Value, true);
        held.Value!.TrySetResult();
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await v1.StopAsync(now.Token);
    }

    /// <summary>One command on the runtime API's socket, and its answer.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(command + "\n"));
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Connections the frontend has accepted so far (`show stat`: web,FRONTEND's stot).</summary>
    public async Task<long> FrontendConnectionsAsync()
    {
        var lines = (await CommandAsync("show stat")).Split('\n');
        var header = lines[0].TrimStart('#', ' ').Split(',');
        var row = lines.First(l => l.StartsWith("web,FRONTEND,", StringComparison.Ordinal)).Split(',');
        return long.Parse(row[Array.IndexOf(header, "stot")], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        process.Dispose();
        await v3.StopAsync();
        await v3.DisposeAsync();
        await v1.StopAsync();
        await v1.DisposeAsync();
        await v2.StopAsync();
        await v2.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}
