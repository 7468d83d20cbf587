using System.Text.Json.Nodes;
using Canary.Analyzer.Traffic;
using Canary.Testing;
using Canary.Testing.Kubernetes;
using k8s;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>An emulator with the CRDs of Istio and Traefik installed, a client, and kubectl, for each router test.</summary>
public abstract class RouterTestBase : IAsyncLifetime, IDisposable
{
    internal static readonly RouterTarget Target = new("shop", "checkout") { Port = 8080 };

    protected KubernetesEmulator Emulator { get; private set; } = null!;

    protected k8s.Kubernetes Client { get; private set; } = null!;

    protected string Folder { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Emulator = await KubernetesEmulator.StartAsync();
        Client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Emulator.Url.AbsoluteUri });
        Folder = Directory.CreateTempSubdirectory("canary-router-").FullName;
        Crd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices", "vs");
        Crd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules", "dr");
        Crd("traefik.io", "v1alpha1", "TraefikService", "traefikservices", "ts");
    }

    public async Task DisposeAsync()
    {
        await Emulator.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    public void Dispose()
    {
        Client.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static JsonObject Node(string json) => JsonNode.Parse(json)!.AsObject();

    protected static string Version(JsonObject o) => o["metadata"]!["resourceVersion"]!.GetValue<string>();

    /// <summary>kubectl get -o json of one object, as a user would look at it.</summary>
    protected async Task<JsonObject> KubectlGetAsync(string resource, string name)
    {
        var kubeconfig = Emulator.WriteKubeconfig(Folder);
        var json = await ExternalProcess.RunAsync("kubectl", ["--kubeconfig", kubeconfig, "get", resource, name, "-n", "shop", "-o", "json"], Folder, TimeSpan.FromSeconds(60));
        return Node(json);
    }

    /// <summary>
    /// Moves the weight 0→10→…→100 (promotion) and back to 0 (rollback), reading each one back from
    /// the cluster; setting a weight again writes nothing.
    /// </summary>
    internal async Task WalkWeightsAsync(ITrafficRouter router)
    {
        foreach (var weight in new[] { 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0 })
        {
            await router.SetRoutingAsync(Target, new Routing(weight), CancellationToken.None);
            Assert.Equal(new Routing(weight), await router.GetRoutingAsync(Target, CancellationToken.None));
            var requests = Emulator.Requests;
            var writes = WritesSoFar();
            await router.SetRoutingAsync(Target, new Routing(weight), CancellationToken.None);
            Assert.True(Emulator.Requests > requests);
            Assert.Equal(writes, WritesSoFar());
        }
    }

    /// <summary>The cluster's resourceVersion: it moves with every write.</summary>
    private long WritesSoFar() =>
        long.Parse(Client.CoreV1.ListNamespacedConfigMap("shop").Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture);

    private void Crd(string group, string version, string kind, string plural, string shortName) =>
        Emulator.Write("apiextensions.k8s.io", "v1", "customresourcedefinitions", null, Node($$$"""
            {"metadata": {"name": "{{{plural}}}.{{{group}}}"},
             "spec": {"group": "{{{group}}}", "scope": "Namespaced",
                      "names": {"kind": "{{{kind}}}", "plural": "{{{plural}}}", "singular": "{{{kind.ToLowerInvariant()}}}", "shortNames": ["{{{shortName}}}"]},
                      "versions": [{"name": "{{{version}}}", "served": true, "storage": true}]}}
            """));
}
