using Canary.Analyzer.Documents;
using System.Reflection;
using Canary.Analyzer.Metrics;

namespace Canary.Analyzer.Cli;

/// <summary>The `canary` command line: one verb per command, exit statuses as in <see cref="ExitCodes"/>.</summary>
internal static class CanaryCli
{
    public const string Usage = """
        usage: canary <command> [arguments]

        commands:
          judge FILE [--gate] [--format json|table]   judge a Judge-contract JSON document ('-' reads stdin)
          analyze --config FILE --prometheus URL --control SEL --experiment SEL --start T [...]
                                                      fetch both cohorts from Prometheus and judge them
          validate FILE                               check a canary config (or a Canary resource) and its templates
          serve [--store ...] [--kubeconfig ...]      run the rollout controller: watch Canary resources, release
          local CANARY.yaml... [--prometheus URL]     run Canaries of local processes behind HAProxy (no cluster)
          demo [--fast] [--output DIR]                the whole loop on this machine: a good release promoted,
                                                      a bad one rolled back, under load; writes a summary
          report [--week 2026-W47] [--store ...]      the weekly reliability report: HTML, JSON and PNG charts
          simulate [--scenarios FILE] [--rollouts N] [--seed S] [--rules LIST] [--format table|json]
                                                      how often each rule rolls back healthy and bad canaries,
                                                      on simulated traffic through the real state machine and Judge
          sample-service --port N [--version v2] [--error-rate 0.05] [--latency 50ms]
                                                      a small instrumented HTTP service for demos
          version                                     print the version
          help                                        print this text

        exit status: 0 done, 1 --gate and the verdict is not Pass, 2 bad input or usage,
                     3 an external system failed (the metrics source, the store or the Kubernetes API),
                     70 a fault inside canary (please report it), 130 interrupted
        """;

    public static Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdin, stdout, stderr, TimeProvider.System, CancellationToken.None);

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            await (args.Length == 0 ? stderr : stdout).WriteLineAsync(Usage);
            return args.Length == 0 ? ExitCodes.BadInput : ExitCodes.Done;
        }

        try
        {
            return args[0] switch
            {
                "judge" => await JudgeCommand.RunAsync(args[1..], stdin, stdout, cancellationToken),
                "analyze" => await AnalyzeCommand.RunAsync(args[1..], stdout, stderr, time, cancellationToken),
                "validate" => await ValidateCommand.RunAsync(args[1..], stdout),
                "serve" => await ServeCommand.RunAsync(args[1..], stdout, cancellationToken),
                "sample-service" => await SampleServiceCommand.RunAsync(args[1..], stdout, cancellationToken),
                "local" => await LocalCommand.RunAsync(args[1..], stdout, time, cancellationToken),
                "demo" => await DemoCommand.RunAsync(args[1..], stdout, time, cancellationToken),
                "report" => await ReportCommand.RunAsync(args[1..], stdout, stderr, time, cancellationToken),
                "simulate" => await SimulateCommand.RunAsync(args[1..], stdout, cancellationToken),
                "version" or "--version" => await Version(stdout),
                _ => throw new InputException($"{args[0]}: unknown command; run 'canary help'"),
            };
        }
        catch (InputException e)
        {
            foreach (var problem in e.Problems)
            {
                await stderr.WriteLineAsync($"canary {args[0]}: {problem}");
            }

            return ExitCodes.BadInput;
        }
        catch (MetricsSourceException e)
        {
            await stderr.WriteLineAsync($"canary {args[0]}: {e.Message}");
            if (e.Query.Length > 0)
            {
                await stderr.WriteLineAsync($"canary {args[0]}:   query: {string.Join(' ', e.Query.Split('\n', StringSplitOptions.TrimEntries))}");
            }

            return ExitCodes.ExternalFailed;
        }
        catch (Storage.StoreException e)
        {
            await stderr.WriteLineAsync($"canary {args[0]}: {e.Message}");
            return ExitCodes.ExternalFailed;
        }
        catch (ExternalFaultException e)
        {
            // Kubernetes, a router, the local workloads: what failed outside canary, never an internal error.
            await stderr.WriteLineAsync($"canary {args[0]}: {e.Message}");
            return ExitCodes.ExternalFailed;
        }
        catch (System.Data.Common.DbException e)
        {
            await stderr.WriteLineAsync($"canary {args[0]}: the store failed: {e.Message}");
            return ExitCodes.ExternalFailed;
        }
    }

    private static async Task<int> Version(TextWriter stdout)
    {
        var version = typeof(CanaryCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        await stdout.WriteLineAsync($"canary {version}");
        return ExitCodes.Done;
    }
}
