using Canary.Analyzer.Documents;
using Canary.Analyzer.Serving;
using k8s;
using Microsoft.Extensions.Configuration;
using Quartz;

namespace Canary.Analyzer.Cli;

/// <summary>
/// Everything `canary serve` is told, read and checked before anything starts: the settings with the
/// flags over them, the store, Prometheus, the cluster, the API, and the report and retention jobs.
/// A problem is bad input naming its flag or setting.
/// </summary>
internal sealed record ServeSettings(IConfiguration Settings, string Urls, bool JsonLogs, RolloutHostOptions Host, KubernetesClientConfiguration Kubernetes, Api.ApiOptions Api)
{
    public required string StoreLocation { get; init; }

    public required TimeZoneInfo ReportZone { get; init; }

    public required string ReportCron { get; init; }

    public required TimeSpan Retention { get; init; }

    public required TimeSpan ClusterCheckin { get; init; }

    public static ServeSettings Read(CommandLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var settings = Cli.Settings.Load();
        var prometheus = Cli.Settings.CheckedPrometheus(settings, line.Option("--prometheus"));
        var json = (line.Option("--log-format") ?? "text") switch
        {
            "text" => false,
            "json" => true,
            var other => throw new InputException($"--log-format: \"{other}\" is not one of text, json"),
        };
        var (store, location) = Cli.Settings.Store(settings, line.Option("--store"));
        var kubernetes = KubernetesConfiguration(line.Option("--kubeconfig"));
        var templates = Cli.Settings.Templates(settings, line.Option("--queries"));
        var reportZone = ReportCommand.Zone(settings["Canary:Reports:TimeZone"] ?? "UTC", "Canary:Reports:TimeZone");
        var reportCron = settings["Canary:Reports:Cron"] ?? ReportJob.DefaultCron;
        try
        {
            _ = new CronExpression(reportCron);
        }
        catch (FormatException)
        {
            throw new InputException($"Canary:Reports:Cron: \"{reportCron}\" is not a Quartz cron expression such as {ReportJob.DefaultCron} (Mondays 06:00)");
        }

        var host = new RolloutHostOptions(store, templates, prometheus) { ConcurrentTicks = settings.GetValue("Canary:ConcurrentTicks", 64) };
        return new ServeSettings(settings, line.Option("--urls") ?? "http://0.0.0.0:8080", json, host, kubernetes, Cli.Settings.Api(settings))
        {
            StoreLocation = location,
            ReportZone = reportZone,
            ReportCron = reportCron,
            Retention = settings.GetValue("Canary:Retention", TimeSpan.FromDays(90)),
            ClusterCheckin = settings.GetValue("Canary:ClusterCheckin", TimeSpan.FromSeconds(7.5)),
        };
    }

    /// <summary>Serve's jobs beside the rollouts' (the weekly report, retention), and Quartz's cluster when the store is PostgreSQL.</summary>
    public void AddJobs(IQuartzBuilder q)
    {
        ArgumentNullException.ThrowIfNull(q);
        if (StoreLocation.StartsWith("postgres:", StringComparison.Ordinal))
        {
            Cluster(q, StoreLocation["postgres:".Length..], ClusterCheckin);
        }

        q.ScheduleJob<ReportJob>(t => t.WithIdentity("weekly-report").WithCronSchedule(ReportCron, cron => cron.InTimeZone(ReportZone)),
            job => job.WithIdentity("weekly-report").UsingJobData(ReportJob.ZoneKey, ReportZone.Id));
        q.ScheduleJob<RetentionJob>(t => t.WithIdentity("retention").StartNow().WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromHours(6)).RepeatForever()),
            job => job.WithIdentity("retention").UsingJobData("days", Retention.TotalDays));
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
