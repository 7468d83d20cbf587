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

        try
        {
            await app.StopAsync(CancellationToken.None);
        }
        finally
        {
            // Disposed whatever the stop did: the local workloads' last record and --stop-workloads happen here.
            await DisposeAsync(app);
        }

        return ExitCodes.Done;
    }

    /// <summary>Starts app; when that fails, disposes what was built (services that started already stop) and rethrows.</summary>
    public static async Task StartAsync(IHost app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await DisposeAsync(app);
            throw;
        }
    }

    /// <summary>A host's services may be disposable only asynchronously (the local workloads): DisposeAsync when it can.</summary>
    public static async Task DisposeAsync(IHost app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app is IAsyncDisposable asynchronous)
        {
            await asynchronous.DisposeAsync();
        }
        else
        {
            app.Dispose();
        }
    }
}
