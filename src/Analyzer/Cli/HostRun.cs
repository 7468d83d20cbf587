using Microsoft.AspNetCore.Builder;

namespace Canary.Analyzer.Cli;

/// <summary>How the long-running commands (serve, sample-service) end: Ctrl-C, or SIGTERM through the host's lifetime, then a clean stop.</summary>
internal static class HostRun
{
    public static async Task<int> UntilStoppedAsync(WebApplication app, CancellationToken cancellationToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Asked to stop: shut down below.
        }

        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        return ExitCodes.Done;
    }
}
