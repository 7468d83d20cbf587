using System.Text.Json;
using Canary.Testing;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Support.Kubernetes;

/// <summary>The real kubectl against the emulator: the emulator is only useful if it speaks the protocol kubectl speaks.</summary>
public sealed class EmulatorKubectlTests : IAsyncLifetime
{
    private KubernetesEmulator emulator = null!;
    private string folder = null!;
    private string kubeconfig = null!;

    public async Task InitializeAsync()
    {
        emulator = await KubernetesEmulator.StartAsync();
        folder = Directory.CreateTempSubdirectory("canary-kubectl-").FullName;
        kubeconfig = emulator.WriteKubeconfig(folder);
    }

    public async Task DisposeAsync()
    {
        await emulator.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Kubectl_applies_a_deployment_that_reads_back_as_json()
    {
        var manifest = await WriteManifestAsync();
        Assert.Contains("namespace/shop created", await KubectlAsync("create", "namespace", "shop"), StringComparison.Ordinal);
        var applied = await KubectlAsync("apply", "--validate=false", "-f", manifest);
        Assert.Contains("deployment.apps/checkout created", applied, StringComparison.Ordinal);

        var json = await KubectlAsync("get", "deployment", "checkout", "-n", "shop", "-o", "json");
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("Deployment", root.GetProperty("kind").GetString());
        Assert.Equal(2, root.GetProperty("spec").GetProperty("replicas").GetInt32());
        Assert.Equal("checkout:1.0", root.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0].GetProperty("image").GetString());
    }

    [Fact]
    public async Task Kubectl_patches_a_deployments_image_bumping_its_generation()
    {
        await ApplyCheckoutAsync();
        var patched = await KubectlAsync("patch", "deployment", "checkout", "-n", "shop", "-p", """{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"checkout:2.0"}]}}}}""");
        Assert.Contains("deployment.apps/checkout patched", patched, StringComparison.Ordinal);
        var image = await KubectlAsync("get", "deploy", "checkout", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}");
        Assert.Equal("checkout:2.0 2", image.Trim());
    }

    [Fact]
    public async Task Kubectl_selects_deployments_by_label()
    {
        await ApplyCheckoutAsync();
        var names = await KubectlAsync("get", "deployments", "-n", "shop", "-l", "app=checkout", "-o", "name");
        Assert.Equal("deployment.apps/checkout", names.Trim());
    }

    [Fact]
    public async Task Kubectl_merge_patches_json_patches_then_scales_a_deployment()
    {
        await ApplyCheckoutAsync();
        var merged = await KubectlAsync("patch", "deployment", "checkout", "-n", "shop", "--type", "merge", "-p", """{"metadata":{"annotations":{"team":"payments"}}}""");
        Assert.Contains("deployment.apps/checkout patched", merged, StringComparison.Ordinal);
        await KubectlAsync("patch", "deployment", "checkout", "-n", "shop", "--type", "json", "-p", """[{"op":"replace","path":"/spec/replicas","value":4}]""");
        var scaled = await KubectlAsync("scale", "deployment", "checkout", "-n", "shop", "--replicas=5");
        Assert.Contains("deployment.apps/checkout scaled", scaled, StringComparison.Ordinal);
        Assert.Equal("5 payments", (await KubectlAsync("get", "deploy", "checkout", "-n", "shop", "-o", "jsonpath={.spec.replicas} {.metadata.annotations.team}")).Trim());
    }

    [Fact]
    public async Task Kubectl_applying_a_changed_manifest_again_updates_the_deployment()
    {
        // kubectl computes the patch from its last-applied record.
        var manifest = await ApplyCheckoutAsync();
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest)).Replace("checkout:1.0", "checkout:3.0", StringComparison.Ordinal));
        Assert.Contains("deployment.apps/checkout configured", await KubectlAsync("apply", "--validate=false", "-f", manifest), StringComparison.Ordinal);
        Assert.Equal("checkout:3.0", (await KubectlAsync("get", "deploy", "checkout", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).Trim());
    }

    [Fact]
    public async Task Kubectl_get_of_a_missing_deployment_is_NotFound()
    {
        await ApplyCheckoutAsync();
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => KubectlAsync("get", "deployment", "nope", "-n", "shop"));
        Assert.True(missing.Message.Contains("Error from server (NotFound): deployments.apps \"nope\" not found", StringComparison.Ordinal), missing.Message);
    }

    [Fact]
    public async Task The_Canary_CRD_installs_with_kubectl()
    {
        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/canaries.canary.dev created",
            await KubectlAsync("apply", "--validate=false", "-f", Path.Combine(AppContext.BaseDirectory, "deploy", "crds", "canary.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Canary_applied_with_kubectl_reads_back_as_the_file_does()
    {
        await KubectlAsync("apply", "--validate=false", "-f", Path.Combine(AppContext.BaseDirectory, "deploy", "crds", "canary.yaml"));
        var example = Path.Combine(AppContext.BaseDirectory, "examples", "rollouts", "checkout.yaml");
        Assert.Contains("canary.canary.dev/checkout created", await KubectlAsync("apply", "--validate=false", "-f", example), StringComparison.Ordinal);
        Assert.Equal("canary.canary.dev/checkout", (await KubectlAsync("get", "canaries", "-n", "shop", "-o", "name")).Trim());

        var stored = await KubectlAsync("get", "cn", "checkout", "-n", "shop", "-o", "json");
        var (fromCluster, problems) = Canary.Analyzer.Rollouts.CanaryResourceReader.Read("shop/checkout.json", stored, Canary.Analyzer.Metrics.TemplateLibrary.Default());
        Assert.Empty(problems);
        var (fromFile, _) = Canary.Analyzer.Rollouts.CanaryResourceReader.Read(example, await File.ReadAllTextAsync(example), Canary.Analyzer.Metrics.TemplateLibrary.Default());
        Assert.Equal(fromFile!.Rollout, fromCluster!.Rollout with { StepWeights = fromFile.Rollout.StepWeights });
        Assert.Equal(fromFile.Rollout.StepWeights, fromCluster.Rollout.StepWeights);
        Assert.Equal(fromFile.Webhooks.Select(w => w.Url), fromCluster.Webhooks.Select(w => w.Url));
    }

    [Fact]
    public async Task Kubectl_get_canaries_shows_the_CRDs_printer_columns()
    {
        // The project's own CRD (deploy/crds/canary.yaml), applied as a user installs it.
        Assert.Contains("created", await KubectlAsync("apply", "--validate=false", "-f", Path.Combine(AppContext.BaseDirectory, "deploy", "crds", "canary.yaml")), StringComparison.Ordinal);
        await KubectlAsync("create", "namespace", "shop");
        emulator.Write("canary.dev", "v1alpha1", "canaries", "shop", System.Text.Json.Nodes.JsonNode.Parse("""
            {"metadata": {"name": "checkout"}, "spec": {"targetRef": {"kind": "Deployment", "name": "checkout"}}}
            """)!.AsObject());
        // The status as canary writes it: through the status subresource.
        await KubectlAsync("patch", "canaries.canary.dev", "checkout", "-n", "shop", "--subresource=status", "--type=merge", "-p",
            """{"status": {"phase": "Progressing", "canaryWeight": 20, "lastScore": 97.5, "revision": "7d9f", "reason": "analysis passed"}}""");
        var text = await KubectlAsync("get", "canaries", "-n", "shop");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 2, text);
        Assert.Equal(["NAME", "PHASE", "WEIGHT", "SCORE", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(lines[1].Split(" ", StringSplitOptions.RemoveEmptyEntries).Length >= 4, text);
        Assert.Equal(["checkout", "Progressing", "20", "97.5"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..4]);
        var wide = (await KubectlAsync("get", "canaries", "-n", "shop", "-o", "wide")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "PHASE", "WEIGHT", "SCORE", "REVISION", "REASON", "AGE"], wide[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Writes app.yaml: deployment shop/checkout, two replicas of checkout:1.0. Returns its path.</summary>
    private async Task<string> WriteManifestAsync()
    {
        var manifest = Path.Combine(folder, "app.yaml");
        await File.WriteAllTextAsync(manifest, """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: checkout
              namespace: shop
              labels: {app: checkout}
            spec:
              replicas: 2
              selector:
                matchLabels: {app: checkout}
              template:
                metadata:
                  labels: {app: checkout}
                spec:
                  containers:
                    - name: app
                      image: checkout:1.0
            """);
        return manifest;
    }

    /// <summary>Creates namespace shop and applies app.yaml in it with kubectl. Returns the manifest's path.</summary>
    private async Task<string> ApplyCheckoutAsync()
    {
        var manifest = await WriteManifestAsync();
        await KubectlAsync("create", "namespace", "shop");
        await KubectlAsync("apply", "--validate=false", "-f", manifest);
        return manifest;
    }

    private async Task<string> KubectlAsync(params string[] arguments)
    {
        return await ExternalProcess.RunAsync("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", .. arguments], folder, TimeSpan.FromSeconds(60));
    }
}
