using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Canary.Analyzer.Serving;

/// <summary>What every rollout host needs, in serve and in local mode.</summary>
internal sealed record RolloutHostOptions(IAnalysisStore Store, TemplateLibrary Templates, PrometheusOptions Prometheus)
{
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Ticks wait on Kubernetes, Prometheus and the store far more than they compute: many run at once.</summary>
    public int ConcurrentTicks { get; init; } = 64;
}

/// <summary>
/// The one composition of the rollout loop: <see cref="AddRollouts"/> registers what serve and local
/// mode share (the controller, one Quartz scheduler with one job per rollout, the registry, the
/// command path, the metric sources); <see cref="AddKubernetesRollouts"/> and
/// <see cref="AddLocalRollouts"/> add where Canaries, workloads, routers, commands and reports live.
/// Routers and metric sources are keyed services, by the name a Canary gives them.
/// </summary>
internal static class RolloutHosting
{
    /// <summary>The key of the Prometheus metric source (the only one so far).</summary>
    public const string Prometheus = "prometheus";

    public static IServiceCollection AddRollouts(this IServiceCollection services, RolloutHostOptions options, Action<IQuartzBuilder>? quartz = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var time = options.Time;
        services.AddSingleton(time).AddSingleton(options.Store).AddSingleton(options.Templates);
        services.AddSingleton(_ => new PrometheusClient(options.Prometheus, time));
        services.AddKeyedSingleton<IMetricSource>(Prometheus, (p, _) => new PrometheusMetricSource(p.GetRequiredService<PrometheusClient>()));
        services.AddSingleton(p => new RolloutAnalyzer(p.GetRequiredKeyedService<IMetricSource>(Prometheus), options.Prometheus.Concurrency));
        services.AddSingleton(_ => new HttpClient());
        services.AddSingleton(p => new Webhooks(p.GetRequiredService<HttpClient>(), time));
        services.AddSingleton(p => new RouterRegistry(p.GetServices<RouterName>().Select(r => p.GetRequiredKeyedService<ITrafficRouter>(r.Name))));
        services.AddSingleton(p => new RolloutController(
            p.GetRequiredService<IAnalysisStore>(), p.GetRequiredService<IWorkloadController>(), p.GetRequiredService<RouterRegistry>(),
            p.GetRequiredService<RolloutAnalyzer>(), p.GetRequiredService<Webhooks>(), time, p.GetRequiredService<ILogger<RolloutController>>())
        {
            ResolveConfig = p.GetService<ConfigMapConfigs>() is { } configs ? configs.ResolveAsync : null,
        });
        services.AddSingleton<CanaryRegistry>();
        services.AddSingleton<RolloutSchedule>();
        services.AddSingleton<IRolloutCommands, RolloutCommands>();
        services.AddQuartz(q =>
        {
            q.UseDefaultThreadPool(pool => pool.MaxConcurrency = options.ConcurrentTicks);
            // A stop cancels the ticks under way (a tick may wait minutes for a workload) and waits for them: each is safe to cut short.
            q.ConfigureScheduler(s => s.ShutdownJobInterruption = ShutdownJobInterruption.WhenWaitingForJobs);
            quartz?.Invoke(q);
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }

    /// <summary>Canary resources watched in a cluster; Deployments, the Kubernetes routers, commands in annotations, status and events.</summary>
    public static IServiceCollection AddKubernetesRollouts(this IServiceCollection services, KubernetesClientConfiguration kubernetes)
    {
        services.AddSingleton<IKubernetes>(_ => new k8s.Kubernetes(kubernetes));
        services.AddSingleton<IWorkloadController>(p => new KubernetesWorkloads(p.GetRequiredService<IKubernetes>(), p.GetRequiredService<TimeProvider>()));
        services.AddRouter(RouterNames.Istio, p => new IstioRouter(p.GetRequiredService<IKubernetes>(), p.GetRequiredService<TimeProvider>()));
        services.AddRouter(RouterNames.Nginx, p => new NginxRouter(p.GetRequiredService<IKubernetes>(), p.GetRequiredService<TimeProvider>()));
        services.AddRouter(RouterNames.Traefik, p => new TraefikRouter(p.GetRequiredService<IKubernetes>(), p.GetRequiredService<TimeProvider>()));
        services.AddRouter(RouterNames.Service, p => new ServiceRouter(p.GetRequiredService<IKubernetes>(), p.GetRequiredService<TimeProvider>()));
        services.AddSingleton(p => new ConfigMapConfigs(p.GetRequiredService<IKubernetes>(), p.GetRequiredService<TemplateLibrary>()));
        services.AddSingleton<CanaryObjects>();
        services.AddSingleton<ICommandInbox>(p => p.GetRequiredService<CanaryObjects>());
        services.AddSingleton<IRolloutReporter>(p => p.GetRequiredService<CanaryObjects>());
        services.AddSingleton<IRolloutSource, RegistrySource>();
        services.AddHostedService<CanaryWatcher>();
        services.AddHostedService<TargetWatcher>();
        return services;
    }

    /// <summary>Canary files; local processes behind HAProxy; commands in memory; ticks to whoever watches.</summary>
    public static IServiceCollection AddLocalRollouts(this IServiceCollection services, LocalRolloutOptions local)
    {
        ArgumentNullException.ThrowIfNull(local);
        services.AddSingleton(local);
        services.AddSingleton(p => new HaproxyRouter(p.GetRequiredService<TimeProvider>()));
        services.AddRouter(RouterNames.Haproxy, p => p.GetRequiredService<HaproxyRouter>());
        services.AddSingleton(p => new LocalWorkloads(p.GetRequiredService<HaproxyRouter>(), local.StateFolder, p.GetRequiredService<TimeProvider>(), p.GetRequiredService<ILogger<LocalWorkloads>>())
        {
            StopOnDispose = local.StopWorkloads,
        });
        services.AddSingleton<IWorkloadController>(p => p.GetRequiredService<LocalWorkloads>());
        services.AddSingleton<ICommandInbox, MemoryInbox>();
        services.AddSingleton<IRolloutReporter>(_ => new LocalReporter(local.Ticked));
        services.AddSingleton<LocalCanaryFiles>();
        services.AddSingleton<IRolloutSource>(p => p.GetRequiredService<LocalCanaryFiles>());
        services.AddHostedService(p => p.GetRequiredService<LocalCanaryFiles>());
        return services;
    }

    private static void AddRouter(this IServiceCollection services, string name, Func<IServiceProvider, ITrafficRouter> router)
    {
        services.AddSingleton(new RouterName(name));
        services.AddKeyedSingleton(name, (p, _) => router(p));
    }

    /// <summary>A router's name as a Canary's spec.router gives it: the key it is registered under.</summary>
    private sealed record RouterName(string Name);
}
