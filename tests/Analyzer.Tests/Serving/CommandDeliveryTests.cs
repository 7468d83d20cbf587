using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Serving;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Canary.Testing.Kubernetes;
using k8s;

namespace Canary.Analyzer.Tests.Serving;

/// <summary>
/// Commands sent by annotation (`kubectl annotate canary checkout canary.dev/command=pause`) with a
/// fault between taking and storing, and between storing and clearing: the tick of serve's rollout
/// job against the Kubernetes emulator and a real SQLite store. None is lost, none applied twice.
/// </summary>
public sealed class CommandDeliveryTests : IAsyncLifetime, IDisposable
{
    private const string Ns = "shop";
    private const string Key = "shop/checkout";
    private KubernetesEmulator emulator = null!;
    private k8s.Kubernetes client = null!;
    private SqliteAnalysisStore store = null!;
    private RolloutJob job = null!;
    private CanaryResource resource = null!;
    private readonly HttpClient http = new();

    public async Task InitializeAsync()
    {
        emulator = await KubernetesEmulator.StartAsync();
        client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = emulator.Url.AbsoluteUri });
        emulator.InstallCrd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices");
        emulator.InstallCrd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules");
        emulator.InstallCrd("canary.dev", "v1alpha1", "Canary", "canaries");
        store = new SqliteAnalysisStore(Path.Combine(Directory.CreateTempSubdirectory("canary-commands-").FullName, "canary.db"));
        await store.MigrateAsync(CancellationToken.None);
        var canary = JsonNode.Parse("""
            {"apiVersion": "canary.dev/v1alpha1", "kind": "Canary", "metadata": {"name": "checkout", "namespace": "shop"},
             "spec": {"targetRef": {"kind": "Deployment", "name": "checkout"}, "router": "istio",
                      "analysis": {"interval": "1m", "stepWeights": [50],
                                   "config": {"metrics": [{"name": "error rate", "template": "http-error-rate"}]}}}}
            """)!.AsObject();
        var (read, problems) = CanaryResourceReader.Read("checkout.json", canary.ToJsonString(), TemplateLibrary.Default());
        Assert.Empty(problems);
        resource = read!;
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);
        emulator.Write("apps", "v1", "deployments", Ns, JsonNode.Parse("""
            {"metadata": {"name": "checkout", "labels": {"app": "checkout"}},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "checkout"}},
                      "template": {"metadata": {"labels": {"app": "checkout"}}, "spec": {"containers": [{"name": "app", "image": "checkout:1.0"}]}}}}
            """)!.AsObject());

        // No analysis runs while the rollout is idle: the metrics source is never asked.
        var source = new PrometheusMetricSource(new PrometheusClient(new PrometheusOptions { Url = new Uri("http://127.0.0.1:9/"), Retries = 0 }, TimeProvider.System));
        var controller = new RolloutController(
            store, new KubernetesWorkloads(client, TimeProvider.System) { PollInterval = TimeSpan.FromMilliseconds(20) }, RouterRegistry.ForKubernetes(client, TimeProvider.System),
            new RolloutAnalyzer(source), new Webhooks(http, TimeProvider.System), TimeProvider.System, new CollectingLogger<RolloutController>());
        var registry = new CanaryRegistry();
        registry.Set(resource);
        var objects = new CanaryObjects(client, TimeProvider.System);
        job = new RolloutJob(new RegistrySource(registry), controller, objects, objects, TimeProvider.System, new CollectingLogger<RolloutJob>());
        Assert.Equal(RolloutPhase.Initialized, (await job.TickAsync(resource, CancellationToken.None)).Decision.State.Phase);
    }

    public async Task DisposeAsync()
    {
        await store.DisposeAsync();
        await emulator.DisposeAsync();
    }

    public void Dispose()
    {
        client.Dispose();
        http.Dispose();
    }

    [Fact]
    public async Task A_command_whose_tick_lost_the_race_to_another_replica_is_applied_by_the_next_tick_once()
    {
        Annotate("pause");
        // Another replica decides while this one reads the target: this tick is stale and is not stored.
        emulator.Inject("GET", "/deployments/checkout", new ApiFault.Before(async () =>
        {
            var other = (await store.GetRolloutAsync(Key, CancellationToken.None))!;
            await store.SaveTickAsync(new TickRecord(Key, other.State, OtherReplicasDecision(), null, other.Version), CancellationToken.None);
        }));

        var lost = await job.TickAsync(resource, CancellationToken.None);
        Assert.True(lost.Skipped);
        var id = Annotation(CanaryObjects.CommandIdAnnotation);
        Assert.False(string.IsNullOrEmpty(id), "a plain annotation is given an id when it is taken");
        Assert.Equal("pause", Annotation(CanaryObjects.CommandAnnotation));

        var next = await job.TickAsync(resource, CancellationToken.None);
        Assert.Equal([RolloutCommand.Pause], next.Applied);
        var carried = Assert.Single(await store.AllDecisionsAsync(Key), d => d.Commands is not null);
        Assert.Equal(("pause", id), (carried.Commands, carried.CommandId));
    }

    [Fact]
    public async Task A_command_whose_tick_was_stored_but_not_cleared_is_not_applied_again()
    {
        var stored = await PauseStoredButNotClearedAsync();
        Assert.Equal([RolloutCommand.Pause], stored.Applied);
        Assert.Equal("pause", Annotation(CanaryObjects.CommandAnnotation));
        // The stored tick is still reported, though its commands could not be cleared.
        Assert.Equal(stored.Decision.Reason, emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "checkout")!["status"]!["reason"]!.GetValue<string>());

        var next = await job.TickAsync(resource, CancellationToken.None);
        Assert.Empty(next.Applied);
        Assert.Single(await store.AllDecisionsAsync(Key), d => d.Commands is not null);
        Assert.Null(Annotation(CanaryObjects.CommandAnnotation));
        Assert.Null(Annotation(CanaryObjects.CommandIdAnnotation));
    }

    /// <summary>
    /// Before the clear, the annotation is appended to (`pause` → `pause,resume`) or overwritten
    /// (`kubectl annotate --overwrite … =resume`: the id stays, the text is not the one applied):
    /// either way the next tick applies the resume, and only it.
    /// </summary>
    [Theory]
    [InlineData("pause,resume")]
    [InlineData("resume")]
    public async Task A_command_added_or_replaced_before_the_clear_is_applied_alone_by_the_next_tick(string annotated)
    {
        await PauseStoredButNotClearedAsync();
        Annotate(annotated, id: "c0ffee");

        var next = await job.TickAsync(resource, CancellationToken.None);
        Assert.Equal([RolloutCommand.Resume], next.Applied);
        Assert.False((await store.GetRolloutAsync(Key, CancellationToken.None))!.ReadState().Paused);
        Assert.Equal(["pause", "resume"], (await store.AllDecisionsAsync(Key)).Where(d => d.Commands is not null).Select(d => d.Commands));
        Assert.Null(Annotation(CanaryObjects.CommandAnnotation));
    }

    [Fact]
    public async Task Commands_wait_on_a_suspended_Canary()
    {
        Annotate("pause");
        var held = await job.TickAsync(Suspended(), CancellationToken.None);
        Assert.Empty(held.Applied);
        Assert.Equal("pause", Annotation(CanaryObjects.CommandAnnotation));
    }

    [Fact]
    public async Task Commands_held_by_a_suspended_Canary_are_applied_once_it_is_resumed()
    {
        Annotate("pause");
        await job.TickAsync(Suspended(), CancellationToken.None);

        var resumed = await job.TickAsync(resource, CancellationToken.None);
        Assert.Equal([RolloutCommand.Pause], resumed.Applied);
        Assert.Null(Annotation(CanaryObjects.CommandAnnotation));
    }

    [Fact]
    public async Task An_id_left_without_its_command_is_removed()
    {
        await LeaveAnIdWithoutItsCommandAsync();
        Assert.Null(Annotation(CanaryObjects.CommandIdAnnotation));
    }

    [Fact]
    public async Task An_id_left_without_its_command_is_never_inherited_by_the_next_command()
    {
        await LeaveAnIdWithoutItsCommandAsync();

        // kubectl annotate canary checkout canary.dev/command=pause: the other annotations stay as they are.
        var canary = emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "checkout")!;
        var annotations = canary["metadata"]!["annotations"] as JsonObject ?? [];
        annotations[CanaryObjects.CommandAnnotation] = "pause";
        canary["metadata"]!["annotations"] = annotations;
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);

        var next = await job.TickAsync(resource, CancellationToken.None);
        Assert.Equal([RolloutCommand.Pause], next.Applied);
    }

    private CanaryResource Suspended() => resource with { Rollout = resource.Rollout with { Suspend = true } };

    /// <summary>
    /// A pause (id c0ffee) applied by a tick; then someone removes only the command of that id, which a stored tick applied, and
    /// a tick runs.
    /// </summary>
    private async Task LeaveAnIdWithoutItsCommandAsync()
    {
        Annotate("pause", id: "c0ffee");
        await job.TickAsync(resource, CancellationToken.None);
        Annotate(null, id: "c0ffee");
        await job.TickAsync(resource, CancellationToken.None);
    }

    /// <summary>A pause (id c0ffee) carried out and stored by a tick whose clear Kubernetes failed.</summary>
    private async Task<TickResult> PauseStoredButNotClearedAsync()
    {
        Annotate("pause", id: "c0ffee");
        emulator.Inject("PUT", "/canaries/checkout", new ApiFault.Status(500));
        return await job.TickAsync(resource, CancellationToken.None);
    }

    private static DecisionRecord OtherReplicasDecision() =>
        new(Guid.NewGuid(), Key, DateTimeOffset.UtcNow, "Initialized", 0, "None", "decided by the other replica", "[]", null) { Revision = "other" };

    private void Annotate(string? command, string? id = null)
    {
        var canary = emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "checkout")!;
        var annotations = new JsonObject();
        if (command is not null)
        {
            annotations[CanaryObjects.CommandAnnotation] = command;
        }

        if (id is not null)
        {
            annotations[CanaryObjects.CommandIdAnnotation] = id;
        }

        canary["metadata"]!["annotations"] = annotations;
        emulator.Write("canary.dev", "v1alpha1", "canaries", Ns, canary);
    }

    private string? Annotation(string name) =>
        emulator.Read("canary.dev", "v1alpha1", "canaries", Ns, "checkout")!["metadata"]!["annotations"]?[name]?.GetValue<string>();
}
