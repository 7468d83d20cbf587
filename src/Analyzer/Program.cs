using Canary.Analyzer.Cli;

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C asks the command to stop cleanly; a second one ends the process.
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};

// For the commands that start processes (demo, local), SIGTERM (a service manager, `kill`) and
// SIGHUP (the terminal closed) stop as cleanly as Ctrl-C: their processes are stopped before canary
// exits. A second signal ends canary at once. Other commands keep the default (exit at once).
var owner = args.Length > 0 && args[0] is "demo" or "local";
using var terminated = owner ? System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop) : null;
using var hungUp = owner ? System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, Stop) : null;

try
{
    // Standard input as bytes (canary judge - reads it bounded, and refuses what is not UTF-8): never decoded with replacement characters.
using var stdin = new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true));
return await CanaryCli.RunAsync(args, stdin, Console.Out, Console.Error, TimeProvider.System, interrupted.Token);
}
catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("canary: interrupted");
    return ExitCodes.Interrupted;
}
#pragma warning disable CA1031 // The last resort: one line instead of a stack trace, and a status no command uses.
catch (Exception e)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync($"canary: internal error ({e.GetType().Name}): {e.Message}; please report it with the command line that caused it");
    return ExitCodes.InternalError;
}

void Stop(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
}
