namespace Canary.Analyzer.Serving;

/// <summary>
/// The loop every watcher runs: list, then watch from the list's resourceVersion; when the stream
/// ends (or the server says 410) list again, and when it fails log, back off (200 ms doubling up
/// to 30 s) and list again, until stopped.
/// </summary>
internal static class ListAndWatch
{
    public static async Task RunAsync(Func<CancellationToken, Task> round, Action<string> failed, TimeProvider time, CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await round(stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The watch must outlive API server hiccups: log, back off, list again.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures++;
                failed(e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(failures, 8)))), time, stoppingToken);
            }
        }
    }
}
