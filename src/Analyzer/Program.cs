using Canary.Analyzer.Cli;

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C asks the command to stop cleanly; a second one ends the process.
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};

// SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) stop as cleanly as Ctrl-C:
// commands that started processes (demo, local) stop them before exiting.
using var terminated = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
using var hungUp = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, Stop);

try
{
    return await CanaryCli.RunAsync(args, Console.In, Console.Out, Console.Error, TimeProvider.System, interrupted.Token);
}
catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("canary: interrupted");
    return 130;
}
#pragma warning disable CA1031 // The last resort: one line instead of a stack trace, and a status no command uses.
catch (Exception e)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync($"canary: internal error ({e.GetType().Name}): {e.Message}; please report it with the command line that caused it");
    return 70;
}

void Stop(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    interrupted.Cancel();
}
