using System.Net;
using System.Text.Json.Nodes;
using Canary.Testing.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Canary.Analyzer.Tests.Support.Kubernetes;

/// <summary>The parts of the REST protocol canary relies on, spoken by the emulator to KubernetesClient and plain HTTP.</summary>
public sealed class EmulatorProtocolTests : IAsyncLifetime, IDisposable
{
    private KubernetesEmulator emulator = null!;
    private k8s.Kubernetes client = null!;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        emulator = await KubernetesEmulator.StartAsync();
        client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = emulator.Url.AbsoluteUri });
    }

    public async Task DisposeAsync() => await emulator.DisposeAsync();

    public void Dispose()
    {
        client.Dispose();
        http.Dispose();
    }

    [Fact]
    public async Task A_replace_with_a_stale_resource_version_is_a_conflict()
    {
        var created = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "settings" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, "shop");
        var first = created;
        first.Data["a"] = "2";
        var written = await client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "settings", "shop");
        Assert.NotEqual(created.Metadata.ResourceVersion, written.Metadata.ResourceVersion);

        // created still carries the first resourceVersion.
        var stale = created;
        stale.Data["a"] = "3";
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReplaceNamespacedConfigMapAsync(stale, "settings", "shop"));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Contains("the object has been modified", e.Response.Content, StringComparison.Ordinal);
        Assert.Equal("2", (await client.CoreV1.ReadNamespacedConfigMapAsync("settings", "shop")).Data["a"]);
    }

    [Fact]
    public async Task Generation_counts_spec_changes_only()
    {
        var deployment = await client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("v1"), "shop");
        Assert.Equal(1, deployment.Metadata.Generation);
        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""{"metadata":{"labels":{"x":"y"}}}""", V1Patch.PatchType.MergePatch), "web", "shop");
        await client.AppsV1.PatchNamespacedDeploymentAsync(ImageV2, "web", "shop");
        var patched = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
        Assert.Equal(2, patched.Metadata.Generation);
        Assert.Equal("y", patched.Metadata.Labels["x"]);
    }

    [Fact]
    public async Task The_deployment_controller_reports_the_observed_generation()
    {
        await client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("v1"), "shop");
        await client.AppsV1.PatchNamespacedDeploymentAsync(ImageV2, "web", "shop");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        V1Deployment current;
        do
        {
            current = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
            Assert.True(DateTime.UtcNow < deadline, "the deployment controller did not observe generation 2");
            await Task.Delay(20);
        }
        while (current.Status?.ObservedGeneration != 2);
        Assert.Equal(2, current.Status.ReadyReplicas);
    }

    [Fact]
    public async Task A_patch_of_the_scale_subresource_scales_the_deployment()
    {
        await client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("v1"), "shop");
        var scale = await client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch("""{"spec":{"replicas":5}}""", V1Patch.PatchType.MergePatch), "web", "shop");
        Assert.Equal(5, scale.Spec.Replicas);
        Assert.Equal(5, (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop")).Spec.Replicas);
    }

    [Fact]
    public async Task Label_selectors_filter_lists()
    {
        foreach (var (name, tier, legacy) in new[] { ("a", "front", false), ("b", "back", false), ("c", "front", true), ("d", "batch", false) })
        {
            var labels = new Dictionary<string, string> { ["tier"] = tier };
            if (legacy)
            {
                labels["legacy"] = "yes";
            }

            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = name, Labels = labels } }, "shop");
        }

        var list = await client.CoreV1.ListNamespacedConfigMapAsync("shop", labelSelector: "tier in (front, back),!legacy");
        Assert.Equal(["a", "b"], list.Items.Select(i => i.Metadata.Name));
        Assert.Equal(["d"], (await client.CoreV1.ListNamespacedConfigMapAsync("shop", labelSelector: "tier=batch")).Items.Select(i => i.Metadata.Name));
        Assert.Equal(["a", "c"], (await client.CoreV1.ListNamespacedConfigMapAsync("shop", labelSelector: "tier!=back,tier notin (batch)")).Items.Select(i => i.Metadata.Name));
    }

    [Fact]
    public async Task A_strategic_merge_patch_merges_containers_by_name()
    {
        await client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("v1"), "shop");
        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"proxy:1"}]}}}}""", V1Patch.PatchType.StrategicMergePatch), "web", "shop");
        var containers = (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop")).Spec.Template.Spec.Containers;
        Assert.Equal(["app", "sidecar"], containers.Select(c => c.Name));
        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}""", V1Patch.PatchType.StrategicMergePatch), "web", "shop");
        Assert.Equal(["app"], (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop")).Spec.Template.Spec.Containers.Select(c => c.Name));
    }

    [Fact]
    public async Task Watches_stream_changes_in_order_with_bookmarks()
    {
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "before" } }, "shop");
        using var response = await http.GetAsync(new Uri(emulator.Url, "api/v1/namespaces/shop/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=20"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        async Task<JsonObject> NextAsync() => JsonNode.Parse((await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)))!)!.AsObject();

        var initial = await NextAsync();
        Assert.Equal(("ADDED", "before"), (initial["type"]!.GetValue<string>(), initial["object"]!["metadata"]!["name"]!.GetValue<string>()));
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "after" } }, "shop");
        await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"v"}}""", V1Patch.PatchType.MergePatch), "after", "shop");
        await client.CoreV1.DeleteNamespacedConfigMapAsync("after", "shop");
        var events = new List<string>();
        while (events.Count < 4)
        {
            var next = await NextAsync();
            events.Add($"{next["type"]!.GetValue<string>()} {next["object"]!["metadata"]?["name"]?.GetValue<string>()}".Trim());
            if (next["type"]!.GetValue<string>() == "BOOKMARK")
            {
                Assert.Equal("ConfigMap", next["object"]!["kind"]!.GetValue<string>());
                Assert.NotNull(next["object"]!["metadata"]!["resourceVersion"]);
            }
        }

        var changes = events.Where(e => e != "BOOKMARK").ToList();
        Assert.Equal(["ADDED after", "MODIFIED after", "DELETED after"], changes.Take(3));
        while (!events.Contains("BOOKMARK"))
        {
            var next = await NextAsync();
            events.Add(next["type"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_watch_from_a_listed_resource_version_misses_nothing_written_in_between()
    {
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "one" } }, "shop");
        var list = await client.CoreV1.ListNamespacedConfigMapAsync("shop");
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "two" } }, "shop");
        using var response = await http.GetAsync(new Uri(emulator.Url, $"api/v1/namespaces/shop/configmaps?watch=true&resourceVersion={list.Metadata.ResourceVersion}&timeoutSeconds=10"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = JsonNode.Parse((await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)))!)!;
        Assert.Equal("ADDED", first["type"]!.GetValue<string>());
        Assert.Equal("two", first["object"]!["metadata"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_lease_is_served_to_its_new_holder()
    {
        var lease = await client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new() { Name = "canary-leader" }, Spec = new() { HolderIdentity = "replica-1", LeaseDurationSeconds = 15 } }, "canary-system");
        lease.Spec.HolderIdentity = "replica-2";
        await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "canary-leader", "canary-system");
        Assert.Equal("replica-2", (await client.CoordinationV1.ReadNamespacedLeaseAsync("canary-leader", "canary-system")).Spec.HolderIdentity);
    }

    [Fact]
    public async Task Events_are_served_as_written()
    {
        await client.CoreV1.CreateNamespacedEventAsync(new Corev1Event { Metadata = new() { Name = "rollout.1" }, Reason = "Promoted", InvolvedObject = new() { Name = "checkout" } }, "shop");
        Assert.Equal(["Promoted"], (await client.CoreV1.ListNamespacedEventAsync("shop")).Items.Select(e => e.Reason));
    }

    [Fact]
    public async Task Services_are_served_until_deleted()
    {
        await client.CoreV1.CreateNamespacedServiceAsync(new V1Service { Metadata = new() { Name = "checkout" }, Spec = new() { Selector = new Dictionary<string, string> { ["app"] = "checkout" } } }, "shop");
        await client.CoreV1.DeleteNamespacedServiceAsync("checkout", "shop");
        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReadNamespacedServiceAsync("checkout", "shop"));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
    }

    [Fact]
    public async Task Injected_faults_hit_the_next_matching_requests_only()
    {
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "settings" } }, "shop");
        emulator.Inject("/configmaps/settings", new ApiFault.Status(500), new ApiFault.Drop(), new ApiFault.Delay(TimeSpan.FromSeconds(30)));
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReadNamespacedConfigMapAsync("settings", "shop"));
        Assert.Equal(HttpStatusCode.InternalServerError, error.Response.StatusCode);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.CoreV1.ReadNamespacedConfigMapAsync("settings", "shop"));
        using (var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.CoreV1.ReadNamespacedConfigMapAsync("settings", "shop", cancellationToken: impatient.Token));
        }

        Assert.Equal("settings", (await client.CoreV1.ReadNamespacedConfigMapAsync("settings", "shop")).Metadata.Name);
    }

    [Fact]
    public async Task Discovery_lists_the_built_in_kinds()
    {
        Assert.Contains("apps", await GroupsAsync());
        var apps = JsonNode.Parse(await http.GetStringAsync(new Uri(emulator.Url, "apis/apps/v1")))!["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>());
        Assert.Equal(["deployments", "deployments/status", "deployments/scale"], apps);
        var version = JsonNode.Parse(await http.GetStringAsync(new Uri(emulator.Url, "version")))!;
        Assert.Equal("1", version["major"]!.GetValue<string>());
    }

    [Fact]
    public async Task Discovery_lists_custom_resources_once_their_CRD_exists()
    {
        Assert.DoesNotContain("flagger.app", await GroupsAsync());
        emulator.Write("apiextensions.k8s.io", "v1", "customresourcedefinitions", null, JsonNode.Parse("""
            {"metadata": {"name": "canaries.flagger.app"},
             "spec": {"group": "flagger.app", "scope": "Namespaced", "names": {"kind": "Canary", "plural": "canaries", "singular": "canary"},
                      "versions": [{"name": "v1beta1", "served": true, "storage": true, "subresources": {"status": {}}}]}}
            """)!.AsObject());
        var resources = JsonNode.Parse(await http.GetStringAsync(new Uri(emulator.Url, "apis/flagger.app/v1beta1")))!["resources"]!.AsArray();
        Assert.Equal(["canaries", "canaries/status"], resources.Select(r => r!["name"]!.GetValue<string>()));
    }

    /// <summary>A JSON patch that moves the app container of deployment web to web:v2 (a spec change).</summary>
    private static V1Patch ImageV2 => new("""[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"web:v2"}]""", V1Patch.PatchType.JsonPatch);

    /// <summary>The API groups discovery lists at /apis.</summary>
    private async Task<List<string>> GroupsAsync() =>
        JsonNode.Parse(await http.GetStringAsync(new Uri(emulator.Url, "apis")))!["groups"]!.AsArray().Select(g => g!["name"]!.GetValue<string>()).ToList();

    private static V1Deployment Deployment(string version) => new()
    {
        Metadata = new() { Name = "web" },
        Spec = new()
        {
            Replicas = 2,
            Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
            Template = new()
            {
                Metadata = new() { Labels = new Dictionary<string, string> { ["app"] = "web" } },
                Spec = new() { Containers = [new V1Container { Name = "app", Image = $"web:{version}" }] },
            },
        },
    };
}
