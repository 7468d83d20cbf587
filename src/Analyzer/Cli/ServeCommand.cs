using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Serving;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using Quartz;
using Canary.Analyzer.Api;
using Serilog;

namespace Canary.Analyzer.Cli;

/// <summary>
/// `canary serve`: the service. Watches Canary resources, runs each rollout's ticks with Quartz,
/// keeps state and history in the store, and serves /healthz, /readyz and /metrics.
/// </summary>
internal static class ServeCommand
{
    public const string Usage = """
        usage: canary serve [--urls http://0.0.0.0:8080] [--store sqlite:PATH | postgres:CONNECTION]
                            [--kubeconfig FILE] [--prometheus URL] [--queries DIR] [--log-format text|json]
          --store       default sqlite:canary.db (setting Canary:Store, env CANARY__Canary__Store)
          --kubeconfig  default $KUBECONFIG, ~/.kube/config, or the in-cluster service account
        """;

    private static readonly HashSet<string> Flags = ["--help"];
    private static readonly HashSet<string> ValueOptions = ["--urls", "--store", "--kubeconfig", "--prometheus", "--queries", "--log-format"];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("serve", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var settings = Settings.Load();
        var prometheus = Settings.Prometheus(settings);
        if (line.Option("--prometheus") is { } url)
        {
            prometheus.Url = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : throw new InputException($"--prometheus: \"{url}\" is not an absolute http or https URL");
        }

        var problems = prometheus.Validate();
        if (problems.Count > 0)
        {
            throw new InputException(problems);
        }

        var json = (line.Option("--log-format") ?? "text") switch
        {
            "text" => false,
            "json" => true,
            var other => throw new InputException($"--log-format: \"{other}\" is not one of text, json"),
        };
        var (store, location) = Settings.Store(settings, line.Option("--store"));

        var kubernetes = KubernetesConfiguration(line.Option("--kubeconfig"));
        var templates = Settings.Templates(settings, line.Option("--queries"));
        await store.MigrateAsync(cancellationToken);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(settings);
        builder.WebHost.UseUrls(line.Option("--urls") ?? "http://0.0.0.0:8080");
        builder.Services.AddSerilog(configuration => Logs.Configure(configuration, json));

        var reportZone = ReportCommand.Zone(settings["Canary:Reports:TimeZone"] ?? "UTC", "Canary:Reports:TimeZone");
        var reportCron = settings["Canary:Reports:Cron"] ?? ReportJob.DefaultCron;
        try
        {
            _ = new Quartz.CronExpression(reportCron);
        }
        catch (FormatException)
        {
            throw new InputException($"Canary:Reports:Cron: \"{reportCron}\" is not a Quartz cron expression such as {ReportJob.DefaultCron} (Mondays 06:00)");
        }

        var clustered = location.StartsWith("postgres:", StringComparison.Ordinal);
        var checkin = settings.GetValue("Canary:ClusterCheckin", TimeSpan.FromSeconds(7.5));
        var retention = settings.GetValue("Canary:Retention", TimeSpan.FromDays(90));
        ApiHosting.AddCanaryApi(builder, Settings.Api(settings));
        builder.Services
            .AddRollouts(new RolloutHostOptions(store, templates, prometheus) { ConcurrentTicks = settings.GetValue("Canary:ConcurrentTicks", 64) }, q =>
            {
                if (clustered)
                {
                    Cluster(q, location["postgres:".Length..], checkin);
                }

                q.ScheduleJob<ReportJob>(t => t.WithIdentity("weekly-report").WithCronSchedule(reportCron, cron => cron.InTimeZone(reportZone)),
                    job => job.WithIdentity("weekly-report").UsingJobData(ReportJob.ZoneKey, reportZone.Id));
                q.ScheduleJob<RetentionJob>(t => t.WithIdentity("retention").StartNow().WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromHours(6)).RepeatForever()),
                    job => job.WithIdentity("retention").UsingJobData("days", retention.TotalDays));
            })
            .AddKubernetesRollouts(kubernetes);

        var app = builder.Build();
        ApiHosting.MapCanaryApi(app, services => services.GetRequiredService<CanaryRegistry>().Synced ? null : "the Canary resources have not been listed yet");
        app.MapMetrics("/metrics");
        await app.StartAsync(cancellationToken);
        return await HostRun.UntilStoppedAsync(app, cancellationToken);
    }

    /// <summary>
    /// Several replicas on one PostgreSQL share the rollouts: each tick runs on one of them, and a
    /// replica that stops checking in has its jobs taken over. Quartz creates its own tables.
    /// </summary>
    private static void Cluster(IQuartzBuilder q, string connection, TimeSpan checkin)
    {
        q.ConfigureScheduler(o =>
        {
            o.InstanceName = "canary";
            o.GenerateInstanceId = true;
        });
        q.UsePersistentStore(store =>
        {
            store.UsePostgres(connection);
            store.UseSystemTextJsonSerializer(_ => { });
            store.UseClustering(c =>
            {
                c.CheckinInterval = checkin;
                c.CheckinMisfireThreshold = checkin * 2;
            });
            store.ProvisionSchema();
        });
    }

    private static KubernetesClientConfiguration KubernetesConfiguration(string? kubeconfig)
    {
        try
        {
            if (kubeconfig is not null)
            {
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            }

            return KubernetesClientConfiguration.IsInCluster()
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(Environment.GetEnvironmentVariable("KUBECONFIG"));
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or FileNotFoundException or IOException)
        {
            throw new InputException($"--kubeconfig: {e.Message}");
        }
    }
}
