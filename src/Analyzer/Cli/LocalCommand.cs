using Canary.Analyzer.Documents;
using Canary.Analyzer.Serving;
using Canary.Analyzer.Workloads;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Extensions.Logging;

namespace Canary.Analyzer.Cli;

/// <summary>
/// `canary local`: the rollout controller without Kubernetes. Canary files with targetRef kind
/// Process and the haproxy router are ticked at their intervals; editing a process file releases
/// a new version. The processes outlive canary, as pods outlive their controller: the next start with
/// the same state folder takes them over; --stop-workloads stops them.
/// </summary>
internal static class LocalCommand
{
    public const string Usage = """
        usage: canary local CANARY.yaml... [--prometheus URL] [--store sqlite:PATH | postgres:CONNECTION] [--state DIR] [--queries DIR] [--urls http://127.0.0.1:8080] [--stop-workloads]
               canary local --stop-workloads [--state DIR]
          Runs the Canaries in the files (targetRef kind Process, router haproxy) until Ctrl-C or SIGTERM: starts
          each target's primary from its process file, and releases a new revision whenever the process file changes.
          The processes keep serving when canary stops; the next canary local with the same --state takes them over.
          --state   where the processes' specs, pids, logs and Prometheus file_sd targets go (default: canary-state)
          --stop-workloads  stop the processes too when canary stops; with no Canary file, stop the processes
                    recorded in --state now and exit
          --store   default Canary:Store, else sqlite:canary.db
          --urls    also serve the HTTP API and the dashboard there (tokens as for canary serve: Api:Tokens),
                    so releases can be approved, aborted, paused and resumed
        See docs/haproxy.md.
        """;

    private static readonly HashSet<string> Flags = ["--help", "--stop-workloads"];
    private static readonly HashSet<string> ValueOptions = ["--prometheus", "--store", "--state", "--queries", "--urls"];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, TimeProvider time, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("local", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var stateFolder = line.Option("--state") ?? "canary-state";
        if (line.Positional.Count == 0 && line.Has("--stop-workloads"))
        {
            return await StopWorkloadsAsync(stateFolder, stdout, time);
        }

        if (line.Positional.Count == 0)
        {
            throw new InputException("CANARY.yaml: give at least one Canary file");
        }

        var settings = Settings.Load();
        var prometheus = Settings.CheckedPrometheus(settings, line.Option("--prometheus"));
        var templates = Settings.Templates(settings, line.Option("--queries"));
        if (LocalCanaryFiles.Validate(line.Positional, templates) is { Count: > 0 } invalid)
        {
            throw new InputException(invalid);
        }

        var (store, _) = Settings.Store(settings, line.Option("--store"));
        await using (store)
        {
            await store.MigrateAsync(cancellationToken);
            var urls = line.Option("--urls");
            var host = Build(settings, urls, new RolloutHostOptions(store, templates, prometheus) { Time = time }, new LocalRolloutOptions(line.Positional, stateFolder) { StopWorkloads = line.Has("--stop-workloads") });
            // Taken before anything starts: a state folder another canary local holds is bad input, and nothing ran.
            var workloads = host.Services.GetRequiredService<LocalWorkloads>();
            await HostRun.StartAsync(host, cancellationToken);
            await stdout.WriteLineAsync($"canary local: {line.Positional.Count} Canary file(s); Prometheus file_sd targets in {workloads.TargetsFolder}");
            if (urls is not null)
            {
                await stdout.WriteLineAsync($"canary local: the API and the dashboard on {urls}");
            }

            await HostRun.UntilStoppedAsync(host, cancellationToken);
        }

        return ExitCodes.Done;
    }

    /// <summary>serve's rollout host with local mode's sources; with the API and the dashboard when urls is given.</summary>
    private static IHost Build(IConfiguration settings, string? urls, RolloutHostOptions rollouts, LocalRolloutOptions local)
    {
        if (urls is null)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
            Compose(builder, settings, rollouts, local);
            return builder.Build();
        }

        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        web.WebHost.UseUrls(urls);
        Compose(web, settings, rollouts, local);
        Api.ApiHosting.AddCanaryApi(web, Settings.Api(settings));
        var app = web.Build();
        Api.ApiHosting.MapCanaryApi(app);
        return app;
    }

    private static void Compose(IHostApplicationBuilder builder, IConfiguration settings, RolloutHostOptions rollouts, LocalRolloutOptions local)
    {
        builder.Configuration.AddConfiguration(settings);
        builder.Services.AddSerilog(configuration => Logs.Configure(configuration, json: false));
        builder.Services.AddRollouts(rollouts).AddLocalRollouts(local);
    }

    private static async Task<int> StopWorkloadsAsync(string stateFolder, TextWriter stdout, TimeProvider time)
    {
        if (!Directory.Exists(stateFolder))
        {
            throw new InputException($"--state: {stateFolder} is no folder");
        }

        using var logger = Logs.Configure(new LoggerConfiguration(), json: false).CreateLogger();
        using var logs = new SerilogLoggerFactory(logger);
        var (stopped, problems) = await LocalWorkloads.StopRecordedAsync(stateFolder, TimeSpan.FromSeconds(10), time, logs.CreateLogger("canary.local"));
        await stdout.WriteLineAsync($"canary local: stopped {stopped.Count} process(es) of {Path.GetFullPath(stateFolder)}{(stopped.Count > 0 ? ": " + string.Join(", ", stopped) : string.Empty)}");
        if (problems.Count > 0)
        {
            throw new WorkloadNotReadyException(string.Join("; ", problems));
        }

        return ExitCodes.Done;
    }
}
