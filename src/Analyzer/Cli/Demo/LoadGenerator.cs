using System.Collections.Concurrent;
using System.Globalization;

namespace Canary.Analyzer.Cli.Demo;

/// <summary>What the load generator saw: every request, and every failure sorted into injected (by the sample service) and other.</summary>
internal sealed record LoadCounts(long Requests, long Failures, long InjectedFailures, long OtherFailures, IReadOnlyDictionary<string, long> OtherFailureReasons);

/// <summary>
/// Steady open-loop load: a request every 1/rate seconds whatever the answers take (a slow canary
/// does not slow the load down), through HAProxy's frontend. A 500 that carries the sample
/// service's X-Injected-Failure header is an injected failure; anything else that is not a 200
/// (a refused or reset connection, a 502/503 from HAProxy, a timeout) is another failure, and
/// those are what a weight shift must never cause.
/// </summary>
internal sealed class LoadGenerator(Uri url, double ratePerSecond, TimeProvider time) : IDisposable
{
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentDictionary<string, long> reasons = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> inFlight = new();
    private long requests;
    private long injected;
    private long other;

    public double RatePerSecond => ratePerSecond;

    /// <summary>
    /// Each request on a connection of its own (Connection: close). A keep-alive client retries by
    /// itself a request whose reused connection closed without an answer, which hides such failures;
    /// one connection per request shows every one.
    /// </summary>
    public bool ConnectionPerRequest { get; init; }

    public LoadCounts Counts => new(Interlocked.Read(ref requests), Interlocked.Read(ref injected) + Interlocked.Read(ref other), Interlocked.Read(ref injected), Interlocked.Read(ref other),
        new SortedDictionary<string, long>(reasons, StringComparer.Ordinal));

    /// <summary>Sends requests until cancelled, then waits for those in flight (they still count).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / ratePerSecond), time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var request = SendAsync();
                inFlight.TryAdd(request, true);
                _ = request.ContinueWith(t => inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }

        await Task.WhenAll(inFlight.Keys);
    }

    public void Dispose() => http.Dispose();

    private async Task SendAsync()
    {
        Interlocked.Increment(ref requests);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.ConnectionClose = ConnectionPerRequest;
            using var answer = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            if (answer.IsSuccessStatusCode)
            {
                return;
            }

            if ((int)answer.StatusCode == 500 && answer.Headers.Contains(SampleServiceCommand.InjectedHeader))
            {
                Interlocked.Increment(ref injected);
                return;
            }

            Other($"HTTP {((int)answer.StatusCode).ToString(CultureInfo.InvariantCulture)}");
        }
        catch (HttpRequestException e)
        {
            Other(e.HttpRequestError.ToString());
        }
        catch (TaskCanceledException)
        {
            Other("timeout");
        }
    }

    private void Other(string reason)
    {
        Interlocked.Increment(ref other);
        reasons.AddOrUpdate(reason, 1, (_, n) => n + 1);
    }
}
