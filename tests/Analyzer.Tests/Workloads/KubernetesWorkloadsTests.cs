using Canary.Analyzer.Kubernetes;
using System.Text.Json.Nodes;
using Canary.Analyzer.Workloads;
using Canary.Testing.Kubernetes;
using k8s;

namespace Canary.Analyzer.Tests.Workloads;

/// <summary>The primary/canary workload controller against the API emulator over real HTTP.</summary>
public sealed class KubernetesWorkloadsTests : IAsyncLifetime, IDisposable
{
    private static readonly WorkloadTarget Target = new("shop", "checkout") { ProgressDeadline = TimeSpan.FromSeconds(20) };
    private KubernetesEmulator emulator = null!;
    private k8s.Kubernetes client = null!;
    private KubernetesWorkloads workloads = null!;

    public async Task InitializeAsync()
    {
        emulator = await KubernetesEmulator.StartAsync();
        client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = emulator.Url.AbsoluteUri });
        workloads = new KubernetesWorkloads(client, TimeProvider.System) { PollInterval = TimeSpan.FromMilliseconds(20) };
        emulator.Write(string.Empty, "v1", "configmaps", "shop", Node("""{"metadata": {"name": "checkout-config"}, "data": {"mode": "fast"}}"""));
        emulator.Write(string.Empty, "v1", "secrets", "shop", Node("""{"metadata": {"name": "checkout-db"}, "stringData": {"password": "s3cret"}}"""));
        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:1.0"));
    }

    public async Task DisposeAsync() => await emulator.DisposeAsync();

    public void Dispose() => client.Dispose();

    [Fact]
    public async Task Initializing_creates_the_primary_as_a_copy_of_the_target()
    {
        var state = await workloads.InitializeAsync(Target, CancellationToken.None);
        Assert.Equal(3, state.Replicas);
        Assert.Equal(await workloads.RevisionAsync(Target, CancellationToken.None), state.Revision);

        var primary = Read("apps", "deployments", "checkout-primary");
        Assert.Equal("checkout-primary", primary["spec"]!["selector"]!["matchLabels"]!["app"]!.GetValue<string>());
        Assert.Equal("checkout-primary", primary["spec"]!["template"]!["metadata"]!["labels"]!["app"]!.GetValue<string>());
        Assert.Equal("payments", primary["metadata"]!["labels"]!["team"]!.GetValue<string>());
        Assert.Equal(3, (int)primary["spec"]!["replicas"]!);
    }

    [Fact]
    public async Task Initializing_gives_the_primary_copies_of_the_targets_configs()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        var pod = Read("apps", "deployments", "checkout-primary")["spec"]!["template"]!["spec"]!;
        Assert.Equal("checkout-config-primary", pod["volumes"]![0]!["configMap"]!["name"]!.GetValue<string>());
        Assert.Equal("checkout-db-primary", pod["containers"]![0]!["envFrom"]![0]!["secretRef"]!["name"]!.GetValue<string>());
        Assert.Equal("fast", Read(string.Empty, "configmaps", "checkout-config-primary")["data"]!["mode"]!.GetValue<string>());
        // The copy holds the same bytes: base64 of "s3cret".
        Assert.Equal("czNjcmV0", Read(string.Empty, "secrets", "checkout-db-primary")["data"]!["password"]!.GetValue<string>());
    }

    [Fact]
    public async Task Initializing_creates_the_three_services()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        Assert.Equal("checkout-primary", Read(string.Empty, "services", "checkout")["spec"]!["selector"]!["app"]!.GetValue<string>());
        Assert.Equal("checkout-primary", Read(string.Empty, "services", "checkout-primary")["spec"]!["selector"]!["app"]!.GetValue<string>());
        Assert.Equal("checkout", Read(string.Empty, "services", "checkout-canary")["spec"]!["selector"]!["app"]!.GetValue<string>());
        Assert.Equal(8080, (int)Read(string.Empty, "services", "checkout")["spec"]!["ports"]![0]!["port"]!);
    }

    [Fact]
    public async Task Initializing_scales_the_target_to_zero_remembering_its_replicas()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        var target = Read("apps", "deployments", "checkout");
        Assert.Equal(0, (int)target["spec"]!["replicas"]!);
        Assert.Equal("3", target["metadata"]!["annotations"]![KubernetesWorkloads.ReplicasAnnotation]!.GetValue<string>());
    }

    [Fact]
    public async Task Initializing_again_changes_nothing()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);

        // Again, as after a crash: nothing changes.
        var version = emulator.Read("apps", "v1", "deployments", "shop", "checkout-primary")!["metadata"]!["resourceVersion"]!.GetValue<string>();
        await workloads.InitializeAsync(Target, CancellationToken.None);
        Assert.Equal(version, Read("apps", "deployments", "checkout-primary")["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task Only_a_new_pod_template_or_new_config_data_is_a_new_revision()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        var first = await workloads.RevisionAsync(Target, CancellationToken.None);
        Assert.Equal(first, await workloads.RevisionAsync(Target, CancellationToken.None));

        // Scaling is not a revision.
        await client.AppsV1.PatchNamespacedDeploymentScaleAsync(new k8s.Models.V1Patch("""{"spec":{"replicas":5}}""", k8s.Models.V1Patch.PatchType.MergePatch), "checkout", "shop");
        Assert.Equal(first, await workloads.RevisionAsync(Target, CancellationToken.None));

        emulator.Write(string.Empty, "v1", "configmaps", "shop", Node("""{"metadata": {"name": "checkout-config"}, "data": {"mode": "safe"}}"""));
        var second = await workloads.RevisionAsync(Target, CancellationToken.None);
        Assert.NotEqual(first, second);

        emulator.Write(string.Empty, "v1", "secrets", "shop", Node("""{"metadata": {"name": "checkout-db"}, "stringData": {"password": "rotated"}}"""));
        var third = await workloads.RevisionAsync(Target, CancellationToken.None);
        Assert.NotEqual(second, third);

        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0"));
        Assert.NotEqual(third, await workloads.RevisionAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task The_canary_scales_up_while_the_primary_keeps_the_old_version()
    {
        await StartReleaseAsync();
        var canary = Read("apps", "deployments", "checkout");
        Assert.Equal(3, (int)canary["status"]!["readyReplicas"]!);
        // The primary still runs v1 while the canary is analysed.
        Assert.Equal("checkout:1.0", Image(Read("apps", "deployments", "checkout-primary")));
        Assert.Equal("fast", Read(string.Empty, "configmaps", "checkout-config-primary")["data"]!["mode"]!.GetValue<string>());
    }

    [Fact]
    public async Task Promoting_gives_the_primary_the_canarys_version_with_its_configs()
    {
        var revision = await StartReleaseAsync();
        await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None);
        var primary = Read("apps", "deployments", "checkout-primary");
        Assert.Equal("checkout:2.0", Image(primary));
        Assert.Equal("checkout-primary", primary["spec"]!["template"]!["metadata"]!["labels"]!["app"]!.GetValue<string>());
        Assert.Equal(revision, primary["metadata"]!["annotations"]![KubernetesWorkloads.RevisionAnnotation]!.GetValue<string>());
        Assert.Equal("safe", Read(string.Empty, "configmaps", "checkout-config-primary")["data"]!["mode"]!.GetValue<string>());
        Assert.Equal(3, (int)primary["status"]!["readyReplicas"]!);
    }

    [Fact]
    public async Task After_the_promotion_the_canary_scales_back_to_zero()
    {
        await StartReleaseAsync();
        await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None);
        await workloads.ScaleCanaryToZeroAsync(Target, CancellationToken.None);
        Assert.Equal(0, (int)Read("apps", "deployments", "checkout")["spec"]!["replicas"]!);
    }

    [Fact]
    public async Task A_new_revision_in_the_middle_of_a_release_is_never_promoted()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0", replicas: 0));
        var analysed = await workloads.RevisionAsync(Target, CancellationToken.None);
        await workloads.ScaleCanaryAsync(Target, 3, CancellationToken.None);

        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:3.0", replicas: 3));
        var e = await Assert.ThrowsAsync<RevisionChangedException>(() => workloads.PromoteAsync(Target, analysed, CancellationToken.None));
        Assert.StartsWith($"deployment shop/checkout changed during its analysis (revision {analysed} analysed, ", e.Message, StringComparison.Ordinal);
        Assert.Equal("checkout:1.0", Image(Read("apps", "deployments", "checkout-primary")));
    }

    [Fact]
    public async Task A_release_that_changes_only_a_config_map_rolls_the_primarys_pods_with_the_new_copy()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        var before = Read("apps", "deployments", "checkout-primary");
        emulator.Write(string.Empty, "v1", "configmaps", "shop", Node("""{"metadata": {"name": "checkout-config"}, "data": {"mode": "safe"}}"""));

        // Initializing again (as after a crash) does not hand the untested config to the primary.
        await workloads.InitializeAsync(Target, CancellationToken.None);
        Assert.Equal("fast", Read(string.Empty, "configmaps", "checkout-config-primary")["data"]!["mode"]!.GetValue<string>());

        var revision = await workloads.RevisionAsync(Target, CancellationToken.None);
        await workloads.PromoteAsync(Target, revision, CancellationToken.None);
        var after = Read("apps", "deployments", "checkout-primary");
        Assert.Equal("safe", Read(string.Empty, "configmaps", "checkout-config-primary")["data"]!["mode"]!.GetValue<string>());
        Assert.Equal(revision, after["spec"]!["template"]!["metadata"]!["annotations"]![KubernetesWorkloads.RevisionAnnotation]!.GetValue<string>());
        Assert.True(long.Parse(after["metadata"]!["generation"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) > long.Parse(before["metadata"]!["generation"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture), "the pod template did not change, so the pods would keep the old config");
    }

    [Fact]
    public async Task A_canary_that_Kubernetes_gives_up_on_fails_with_the_reason()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.FailRollouts("shop", "checkout");
        var e = await Assert.ThrowsAsync<WorkloadNotReadyException>(() => workloads.ScaleCanaryAsync(Target, 2, CancellationToken.None));
        Assert.Equal("deployment shop/checkout did not become ready: ReplicaSet \"checkout\" has timed out progressing.", e.Message);
        // Rollback leaves the primary untouched.
        await workloads.ScaleCanaryToZeroAsync(Target, CancellationToken.None);
        Assert.Equal("checkout:1.0", Image(Read("apps", "deployments", "checkout-primary")));
    }

    [Fact]
    public async Task A_canary_that_is_not_ready_by_the_progress_deadline_fails()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.RolloutDelay = TimeSpan.FromMinutes(5);
        var e = await Assert.ThrowsAsync<WorkloadNotReadyException>(() => workloads.ScaleCanaryAsync(Target with { ProgressDeadline = TimeSpan.FromMilliseconds(300) }, 2, CancellationToken.None));
        Assert.True(e.Message.StartsWith("deployment shop/checkout was not ready within 00:00:00.3000000: ", StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public async Task Conflicting_writes_are_retried()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0", replicas: 0));
        emulator.Inject("PUT", "/deployments/checkout-primary", new ApiFault.Status(409), new ApiFault.Status(409), new ApiFault.Status(409));
        await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None);
        Assert.Equal("checkout:2.0", Image(Read("apps", "deployments", "checkout-primary")));
    }

    [Fact]
    public async Task A_storm_of_conflicting_writes_is_given_up_on_with_a_clear_error()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0", replicas: 0));
        emulator.Inject("PUT", "/deployments/checkout-primary", [.. Enumerable.Repeat<ApiFault>(new ApiFault.Status(409), KubernetesWrites.MaxAttempts)]);
        var e = await Assert.ThrowsAsync<KubernetesWriteException>(async () => await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None));
        Assert.Equal($"gave up writing deployment shop/checkout-primary: {KubernetesWrites.MaxAttempts} attempts in a row met a newer version (409 Conflict); another client keeps changing it", e.Message);
        Assert.Equal("checkout:1.0", Image(Read("apps", "deployments", "checkout-primary")));
    }

    [Fact]
    public async Task A_server_error_is_reported_with_the_object()
    {
        var e = await PromoteIntoAServerErrorAsync();
        Assert.StartsWith("write deployment shop/checkout-primary: the Kubernetes API answered 500 InternalServerError: injected 500", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_error_leaves_nothing_half_written()
    {
        await PromoteIntoAServerErrorAsync();
        Assert.Equal("checkout:1.0", Image(Read("apps", "deployments", "checkout-primary")));
    }

    [Fact]
    public async Task A_promotion_a_server_error_stopped_completes_at_the_next_attempt()
    {
        await PromoteIntoAServerErrorAsync();

        // Promotion is idempotent: the next attempt completes it.
        await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None);
        Assert.Equal("checkout:2.0", Image(Read("apps", "deployments", "checkout-primary")));
    }

    [Fact]
    public async Task Labels_the_user_claims_on_the_primary_are_never_overwritten()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        var primary = Read("apps", "deployments", "checkout-primary");
        primary["metadata"]!["labels"]!["team"] = "sre";
        primary["metadata"]!["annotations"] = new JsonObject { [KubernetesWorkloads.UserKeysAnnotation] = "team" };
        emulator.Write("apps", "v1", "deployments", "shop", primary);

        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0", replicas: 0, tier: "gold"));
        await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None);
        var labels = Read("apps", "deployments", "checkout-primary")["metadata"]!["labels"]!;
        Assert.Equal("sre", labels["team"]!.GetValue<string>());
        Assert.Equal("gold", labels["tier"]!.GetValue<string>());
    }

    /// <summary>Initializes checkout:1.0, then releases checkout:2.0 with new config data and scales its canary to 3. Returns the release's revision.</summary>
    private async Task<string> StartReleaseAsync()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0", replicas: 0));
        emulator.Write(string.Empty, "v1", "configmaps", "shop", Node("""{"metadata": {"name": "checkout-config"}, "data": {"mode": "safe"}}"""));
        var revision = await workloads.RevisionAsync(Target, CancellationToken.None);
        await workloads.ScaleCanaryAsync(Target, 3, CancellationToken.None);
        return revision;
    }

    /// <summary>Initializes checkout:1.0, releases checkout:2.0, and promotes it into one injected 500 on the primary's write.</summary>
    private async Task<KubernetesWriteException> PromoteIntoAServerErrorAsync()
    {
        await workloads.InitializeAsync(Target, CancellationToken.None);
        emulator.Write("apps", "v1", "deployments", "shop", Deployment("checkout:2.0", replicas: 0));
        emulator.Inject("PUT", "/deployments/checkout-primary", new ApiFault.Status(500));
        return await Assert.ThrowsAsync<KubernetesWriteException>(async () => await workloads.PromoteAsync(Target, await workloads.RevisionAsync(Target, CancellationToken.None), CancellationToken.None));
    }

    private JsonObject Read(string group, string plural, string name) =>
        emulator.Read(group, "v1", plural, "shop", name) ?? throw new Xunit.Sdk.XunitException($"{plural}/{name} does not exist");

    private static string Image(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    private static JsonObject Node(string json) => JsonNode.Parse(json)!.AsObject();

    private static JsonObject Deployment(string image, int replicas = 3, string tier = "silver") => Node($$$"""
        {
          "metadata": {"name": "checkout", "labels": {"app": "checkout", "team": "payments", "tier": "{{{tier}}}"}},
          "spec": {
            "replicas": {{{replicas}}},
            "selector": {"matchLabels": {"app": "checkout"}},
            "template": {
              "metadata": {"labels": {"app": "checkout"}},
              "spec": {
                "containers": [{"name": "app", "image": "{{{image}}}", "ports": [{"containerPort": 8080}], "envFrom": [{"secretRef": {"name": "checkout-db"}}]}],
                "volumes": [{"name": "config", "configMap": {"name": "checkout-config"}}]
              }
            }
          }
        }
        """);
}
