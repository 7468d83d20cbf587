using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing;

/// <summary>What the proxy does to one request instead of (or before) forwarding it.</summary>
public abstract record Fault
{
    /// <summary>Answer with this status and body without asking the upstream.</summary>
    public sealed record Status(int Code, string Body = "") : Fault;

    /// <summary>Wait this long, then forward.</summary>
    public sealed record Delay(TimeSpan Duration) : Fault;

    /// <summary>Close the connection without an answer.</summary>
    public sealed record Drop : Fault;

    /// <summary>Hold the request until Count requests are in the proxy at once (or Deadline passes), then forward.</summary>
    public sealed record Gate(int Count, TimeSpan Deadline) : Fault;
}

/// <summary>One request as the proxy received it.</summary>
public sealed record ProxiedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, IReadOnlyDictionary<string, string> Form);

/// <summary>
/// A reverse proxy on 127.0.0.1 (Kestrel) in front of a real server, for fault injection: the next
/// requests can get a status, a delay or a dropped connection; a hook runs before each request is
/// forwarded (e.g. to stop the upstream mid-run); every request is recorded with its headers and form.
/// A request whose upstream cannot be reached gets its connection dropped, as the upstream would.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private WebApplication app = null!;
    private readonly HttpClient upstream = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ConcurrentQueue<Fault> faults = new();
    private readonly ConcurrentQueue<ProxiedRequest> requests = new();
    private int count;
    private int inFlight;
    private int maxInFlight;

    private FaultProxy(Uri target) => Target = target;

    public Uri Url { get; private set; } = null!;

    public Uri Target { get; }

    /// <summary>While true, every request has its connection dropped, as if the upstream were gone.</summary>
    public bool Down { get; set; }

    /// <summary>Runs with the 1-based number of each request before it is forwarded.</summary>
    public Func<int, Task>? BeforeForward { get; set; }

    public IReadOnlyList<ProxiedRequest> Requests => [.. requests];

    /// <summary>The most requests that were in the proxy at the same time.</summary>
    public int MaxInFlight => Volatile.Read(ref maxInFlight);

    public static async Task<FaultProxy> StartAsync(Uri target)
    {
        var proxy = new FaultProxy(target);
        (proxy.app, proxy.Url) = await LoopbackHost.StartAsync(proxy.HandleAsync);
        return proxy;
    }

    public void Inject(params Fault[] next)
    {
        foreach (var fault in next)
        {
            faults.Enqueue(fault);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref inFlight);
        for (var seen = maxInFlight; now > seen; seen = maxInFlight)
        {
            Interlocked.CompareExchange(ref maxInFlight, now, seen);
        }

        try
        {
            await ProxyAsync(context);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    private async Task ProxyAsync(HttpContext context)
    {
        var number = Interlocked.Increment(ref count);
        var form = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        requests.Enqueue(new ProxiedRequest(
            context.Request.Method,
            context.Request.Path + context.Request.QueryString,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            form));
        if (Down)
        {
            context.Abort();
            return;
        }

        if (faults.TryDequeue(out var fault))
        {
            switch (fault)
            {
                case Fault.Status status:
                    context.Response.StatusCode = status.Code;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync(status.Body);
                    return;
                case Fault.Drop:
                    context.Abort();
                    return;
                case Fault.Delay delay:
                    await Task.Delay(delay.Duration, context.RequestAborted);
                    break;
                case Fault.Gate gate:
                    var deadline = DateTime.UtcNow + gate.Deadline;
                    while (Volatile.Read(ref inFlight) < gate.Count && DateTime.UtcNow < deadline)
                    {
                        await Task.Delay(5, context.RequestAborted);
                    }

                    break;
            }
        }

        if (BeforeForward is { } hook)
        {
            await hook(number);
        }

        using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(Target, context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString));
        if (form.Count > 0)
        {
            forward.Content = new FormUrlEncodedContent(form);
        }

        HttpResponseMessage answer;
        try
        {
            answer = await upstream.SendAsync(forward, context.RequestAborted);
        }
        catch (HttpRequestException)
        {
            context.Abort();
            return;
        }

        using (answer)
        {
            context.Response.StatusCode = (int)answer.StatusCode;
            context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
            await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}
