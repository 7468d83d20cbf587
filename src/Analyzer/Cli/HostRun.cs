using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Canary.Analyzer.Cli;

/// <summary>How the long-running commands (serve, local, sample-service) end: Ctrl-C, or SIGTERM through the host's lifetime, then a clean stop.</summary>
internal static class HostRun
{
    public static async Task<int> UntilStoppedAsync(IHost app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Asked to stop: shut down below.
        }

        await app.StopAsync(CancellationToken.None);
        if (app is IAsyncDisposable asynchronous)
        {
            await asynchronous.DisposeAsync();
        }
        else
        {
            app.Dispose();
        }

        return ExitCodes.Done;
    }
}
