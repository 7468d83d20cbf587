using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Canary.Testing.Kubernetes;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>What the whole-release tests share: the Kubernetes emulator with Istio's kinds, an SQLite store, and a rollout controller on the real pieces.</summary>
public abstract class RolloutRig : IAsyncLifetime, IDisposable
{
    protected KubernetesEmulator Emulator { get; private set; } = null!;

    protected k8s.Kubernetes Client { get; private set; } = null!;

    private protected SqliteAnalysisStore Store { get; private set; } = null!;

    protected HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        Emulator = await KubernetesEmulator.StartAsync();
        Client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = Emulator.Url.AbsoluteUri });
        Emulator.InstallCrd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices");
        Emulator.InstallCrd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules");
        Store = new SqliteAnalysisStore(Path.Combine(Directory.CreateTempSubdirectory("canary-rollout-").FullName, "canary.db"));
        await Store.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        await Emulator.DisposeAsync();
    }

    public void Dispose()
    {
        Client.Dispose();
        Http.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A controller over the emulator's workloads and Istio routes, Prometheus at prometheusUrl (no retries, 5 s timeout), and this rig's store.</summary>
    private protected RolloutController Controller(Uri prometheusUrl, ILogger<RolloutController> log)
    {
        var source = new PrometheusMetricSource(new PrometheusClient(new PrometheusOptions { Url = prometheusUrl, Retries = 0, Timeout = TimeSpan.FromSeconds(5) }, TimeProvider.System));
        return new RolloutController(
            Store,
            new KubernetesWorkloads(Client, TimeProvider.System) { PollInterval = TimeSpan.FromMilliseconds(20) },
            RouterRegistry.ForKubernetes(Client, TimeProvider.System),
            new RolloutAnalyzer(source),
            new Webhooks(Http, TimeProvider.System),
            TimeProvider.System,
            log)
        {
            ResolveConfig = new Canary.Analyzer.Serving.ConfigMapConfigs(Client, TemplateLibrary.Default()).ResolveAsync,
        };
    }

    /// <summary>Ticks until the state satisfies until (at most ticks ticks, each followed by the pause pause gives for its state); returns the distinct weights the router held.</summary>
    private protected async Task<List<int>> TickUntilAsync(RolloutController controller, CanaryResource resource, Func<RolloutState, bool> until, int ticks, Func<RolloutState, TimeSpan> pause)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(until);
        ArgumentNullException.ThrowIfNull(pause);
        var router = new IstioRouter(Client, TimeProvider.System);
        var weights = new List<int> { (await router.GetRoutingAsync(resource.Routes, CancellationToken.None)).CanaryWeight };
        for (var i = 0; i < ticks; i++)
        {
            var tick = await controller.TickAsync(resource, [], CancellationToken.None);
            Assert.Empty(tick.ActionErrors);
            var weight = (await router.GetRoutingAsync(resource.Routes, CancellationToken.None)).CanaryWeight;
            if (weight != weights[^1])
            {
                weights.Add(weight);
            }

            if (until(tick.Decision.State))
            {
                return weights;
            }

            await Task.Delay(pause(tick.Decision.State));
        }

        throw new Xunit.Sdk.XunitException($"the rollout did not get there in {ticks} ticks; last: {(await Store.AllDecisionsAsync(resource.Key))[^1].Reason}");
    }
}
