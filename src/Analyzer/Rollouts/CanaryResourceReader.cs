using System.Globalization;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Rollouts;

/// <summary>
/// Reads a Canary resource (YAML or JSON; a file in local mode, an object from the API server in a
/// cluster). Every problem names its field (and line, for files), so it can go to the resource's
/// status and events as well as to the terminal.
/// </summary>
internal static partial class CanaryResourceReader
{
    /// <summary>Routers that split by weight; the service router only switches (blue/green).</summary>
    public static readonly IReadOnlyList<string> Routers = RouterNames.All;

    private static readonly string[] TopFields = ["apiVersion", "kind", "metadata", "spec", "status"];
    private static readonly string[] SpecFields = ["targetRef", "router", "service", "analysis", "progressDeadline", "skipAnalysis", "suspend"];
    private static readonly string[] AnalysisFields =
        ["interval", "window", "threshold", "stepWeights", "stepWeight", "maxWeight", "iterations", "strategy", "match", "mirror", "warmUp", "minSamples", "dryRun", "maxNoEvidence", "promoteEarly", "config", "configRef", "webhooks", "cohorts"];

    /// <summary>Reads text; source names it in problems (file:line field: reason).</summary>
    public static (CanaryResource? Resource, IReadOnlyList<string> Problems) Read(string source, string text, TemplateLibrary templates) =>
        DocumentFields.ReadDocument(source, text, (root, fields, templateProblems) => Read(root, fields, templates, templateProblems));

    internal static CanaryResource? Read(DocumentNode root, DocumentFields fields, TemplateLibrary templates, List<string> templateProblems)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(fields);
        if (!fields.Object(root, string.Empty, TopFields))
        {
            return null;
        }

        var apiVersion = fields.String(root, string.Empty, "apiVersion", string.Empty);
        if (apiVersion != CanaryResource.ApiVersion)
        {
            fields.Problem("apiVersion", $"\"{apiVersion}\" is not {CanaryResource.ApiVersion}", root["apiVersion"]?.Line ?? root.Line);
        }

        if (fields.String(root, string.Empty, "kind", string.Empty) is var kind && kind != "Canary")
        {
            fields.Problem("kind", $"\"{kind}\" is not Canary", root["kind"]?.Line ?? root.Line);
        }

        var metadata = fields.Get(root, string.Empty, "metadata");
        var name = metadata is null ? string.Empty : fields.String(metadata, "metadata", "name", string.Empty);
        var ns = metadata is null ? "default" : fields.String(metadata, "metadata", "namespace", "default");
        if (name.Length == 0)
        {
            fields.Problem("metadata.name", "is required", metadata?.Line ?? root.Line);
        }
        else if (!KubernetesNames.IsSubdomain(name))
        {
            // As Kubernetes names them (DNS-1123): they become folder and file names in local mode, so "../x" must never pass.
            fields.Problem("metadata.name", $"\"{DocumentNode.Shorten(name)}\" is not a Kubernetes name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253", metadata!["name"]?.Line ?? metadata.Line);
        }

        if (!KubernetesNames.IsLabel(ns))
        {
            fields.Problem("metadata.namespace", $"\"{DocumentNode.Shorten(ns)}\" is not a Kubernetes namespace: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63", metadata?["namespace"]?.Line ?? root.Line);
        }

        if (fields.Get(root, string.Empty, "spec") is not { } spec || !fields.Object(spec, "spec", SpecFields))
        {
            if (root["spec"] is null)
            {
                fields.Problem("spec", "is required", root.Line);
            }

            return null;
        }

        var (target, processFile) = ReadTarget(spec, fields);
        var router = fields.String(spec, "spec", "router", RouterNames.Istio);
        if (!Routers.Contains(router))
        {
            fields.Problem(spec["router"]!, "spec.router", $"\"{router}\" is not one of {string.Join(", ", Routers)}");
        }
        else if ((router == RouterNames.Haproxy) != (processFile is not null))
        {
            fields.Problem(spec["router"] ?? spec, "spec.router", processFile is null
                ? "the haproxy router drives local workloads: spec.targetRef needs kind Process and a path (Kubernetes targets use istio, nginx, traefik or service)"
                : $"local workloads (kind Process) are routed by haproxy, not {router}");
        }

        var routes = ReadService(spec, fields, ns, target);
        if (router == RouterNames.Haproxy && routes.RuntimeApi is null && !fields.Problems.Any(p => p.Path.StartsWith("spec.service", StringComparison.Ordinal)))
        {
            fields.Problem("spec.service.haproxy", "is required by the haproxy router: {runtimeApi: SOCKET or HOST:PORT, backend: NAME}", spec["service"]?.Line ?? spec.Line);
        }
        var progressDeadline = Duration(spec, "spec", "progressDeadline", TimeSpan.FromMinutes(10), fields);
        var analysis = fields.Get(spec, "spec", "analysis");
        if (analysis is not null && !fields.Object(analysis, "spec.analysis", AnalysisFields))
        {
            analysis = null;
        }

        var skip = fields.Boolean(spec, "spec", "skipAnalysis", false);
        var rollout = RolloutSpecReader.Read(analysis, fields, router, progressDeadline) with
        {
            SkipAnalysis = skip,
            Suspend = fields.Boolean(spec, "spec", "suspend", false),
        };
        var webhooks = analysis is null ? [] : RolloutSpecReader.Webhooks(analysis, fields);
        rollout = rollout with
        {
            ConfirmPromotion = webhooks.Any(w => w.Type == "confirm-promotion"),
            ConfirmTrafficIncrease = webhooks.Any(w => w.Type == "confirm-traffic-increase"),
        };

        CanaryConfig? config = null;
        string? configRef = null;
        if (analysis is not null)
        {
            configRef = analysis["configRef"] is null ? null : fields.String(analysis, "spec.analysis", "configRef", string.Empty);
            if (fields.Get(analysis, "spec.analysis", "config") is { } inline)
            {
                var variables = new Dictionary<string, string> { ["namespace"] = ns };
                config = CanaryConfigReader.ReadNode(inline, "spec.analysis.config", fields, templates, variables, templateProblems);
            }

            if (config is not null && configRef is not null)
            {
                fields.Problem(analysis["configRef"]!, "spec.analysis.configRef", "give either config (inline) or configRef, not both");
            }
        }

        if (config is null && configRef is null && !skip && !fields.Problems.Any(p => p.Path.StartsWith("spec.analysis.config", StringComparison.Ordinal)))
        {
            fields.Problem("spec.analysis.config", "is required (the metrics to judge), or spec.analysis.configRef, unless spec.skipAnalysis is true", analysis?.Line ?? spec.Line);
        }

        var mirror = analysis is not null && fields.Boolean(analysis, "spec.analysis", "mirror", false);
        if (mirror && router != RouterNames.Istio)
        {
            fields.Problem(analysis!["mirror"]!, "spec.analysis.mirror", $"mirroring needs the istio router, not {router}");
        }

        Cohorts? cohorts = null;
        if (analysis is not null && fields.Get(analysis, "spec.analysis", "cohorts") is { } pair && fields.Object(pair, "spec.analysis.cohorts", "control", "experiment"))
        {
            var control = fields.String(pair, "spec.analysis.cohorts", "control", string.Empty);
            var experiment = fields.String(pair, "spec.analysis.cohorts", "experiment", string.Empty);
            if (control.Length == 0 || experiment.Length == 0)
            {
                fields.Problem(pair, "spec.analysis.cohorts", "needs both control and experiment: the label matchers of each cohort, e.g. version=\"v1\"");
            }
            else
            {
                cohorts = new Cohorts(control, experiment);
            }
        }

        var window = analysis is null ? TimeSpan.FromMinutes(10) : Duration(analysis, "spec.analysis", "window", TimeSpan.FromMinutes(10), fields);
        var minSamples = analysis is null ? 10 : Integer(analysis, "spec.analysis", "minSamples", 10, 1, 100_000, fields);
        if (config is not null && PromQl.TryParseDuration(config.Step, out var step) && config.Metrics.Any(m => !m.Template.Sequential) && (long)(window / step) + 1 < minSamples)
        {
            // Every analysis would be without evidence, and the release would end at maxNoEvidence.
            config = config with
            {
                Warnings = [.. config.Warnings, $"spec.analysis.window: {TimeArguments.Format(window)} at a step of {config.Step} gives {(long)(window / step) + 1} samples, fewer than minSamples {minSamples}: no analysis of a sampled metric would have evidence; lengthen the window or lower minSamples"],
            };
        }

        return new CanaryResource
        {
            Cohorts = cohorts,
            Namespace = ns,
            Name = name,
            Target = target,
            ProcessFile = processFile,
            Router = router,
            Routes = routes,
            Interval = analysis is null ? TimeSpan.FromMinutes(1) : Duration(analysis, "spec.analysis", "interval", TimeSpan.FromMinutes(1), fields),
            Window = window,
            MinSamples = minSamples,
            Rollout = rollout with { Mirror = mirror },
            Config = config,
            ConfigRef = configRef,
            Webhooks = webhooks,
        };
    }

    private static (string Name, string? ProcessFile) ReadTarget(DocumentNode spec, DocumentFields fields)
    {
        if (fields.Get(spec, "spec", "targetRef") is not { } targetRef || !fields.Object(targetRef, "spec.targetRef", "apiVersion", "kind", "name", "path"))
        {
            if (spec["targetRef"] is null)
            {
                fields.Problem("spec.targetRef", "is required: {apiVersion: apps/v1, kind: Deployment, name: NAME}", spec.Line);
            }

            return (string.Empty, null);
        }

        var kind = fields.String(targetRef, "spec.targetRef", "kind", "Deployment");
        if (kind is not ("Deployment" or "Process"))
        {
            fields.Problem(targetRef["kind"]!, "spec.targetRef.kind", $"\"{kind}\" is not Deployment (Kubernetes) or Process (local workloads)");
        }

        var name = fields.String(targetRef, "spec.targetRef", "name", string.Empty);
        if (name.Length == 0)
        {
            fields.Problem("spec.targetRef.name", "is required", targetRef.Line);
        }
        else if (kind == "Process" && !KubernetesNames.IsLabel(name))
        {
            fields.Problem(targetRef["name"]!, "spec.targetRef.name", $"\"{DocumentNode.Shorten(name)}\" is not a DNS label (lower-case letters, digits and '-')");
        }

        var path = fields.String(targetRef, "spec.targetRef", "path", string.Empty);
        if (kind == "Process" && path.Length == 0)
        {
            fields.Problem("spec.targetRef.path", "is required for kind Process: the process file (command, readinessProbe) that says what runs this target", targetRef.Line);
        }
        else if (kind != "Process" && path.Length > 0)
        {
            fields.Problem(targetRef["path"]!, "spec.targetRef.path", "is only for kind Process (local workloads)");
        }

        return (name, kind == "Process" ? path : null);
    }


    private static RouterTarget ReadService(DocumentNode spec, DocumentFields fields, string ns, string target)
    {
        var routes = new RouterTarget(ns, target);
        if (fields.Get(spec, "spec", "service") is not { } service || !fields.Object(service, "spec.service", "port", "hosts", "gateways", "ingress", "haproxy"))
        {
            return routes;
        }

        if (fields.Get(service, "spec.service", "haproxy") is { } haproxy && fields.Object(haproxy, "spec.service.haproxy", "runtimeApi", "backend", "primaryServer", "canaryServer"))
        {
            const string At = "spec.service.haproxy";
            var api = fields.String(haproxy, At, "runtimeApi", string.Empty);
            if (api.Length == 0)
            {
                fields.Problem($"{At}.runtimeApi", "is required: the stats socket at level admin, a unix socket path or host:port", haproxy.Line);
            }
            else if (!api.Contains('/', StringComparison.Ordinal) && !(api.LastIndexOf(':') is var colon and > 0
                && int.TryParse(api.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var apiPort) && apiPort is > 0 and < 65536))
            {
                fields.Problem(haproxy["runtimeApi"]!, $"{At}.runtimeApi", $"\"{DocumentNode.Shorten(api)}\" is neither a unix socket path nor host:port");
            }

            routes = routes with
            {
                RuntimeApi = api.Length == 0 ? null : api,
                Backend = haproxy["backend"] is null ? null : fields.String(haproxy, At, "backend", target),
                PrimaryServer = fields.String(haproxy, At, "primaryServer", routes.PrimaryServer),
                CanaryServer = fields.String(haproxy, At, "canaryServer", routes.CanaryServer),
            };
        }

        return routes with
        {
            Port = service["port"] is null ? null : Integer(service, "spec.service", "port", 80, 1, 65535, fields),
            Hosts = Strings(service, "spec.service", "hosts", fields),
            Gateways = Strings(service, "spec.service", "gateways", fields),
            Ingress = service["ingress"] is null ? null : fields.String(service, "spec.service", "ingress", target),
        };
    }

    private static List<string> Strings(DocumentNode node, string path, string name, DocumentFields fields)
    {
        if (fields.Get(node, path, name) is not { } list)
        {
            return [];
        }

        if (list.Kind != NodeKind.Sequence || list.Items.Any(i => i.Kind != NodeKind.String))
        {
            fields.Problem(list, $"{path}.{name}", $"must be a list of strings, got {list.Describe()}");
            return [];
        }

        return [.. list.Items.Select(i => i.Text)];
    }

    internal static int Integer(DocumentNode node, string path, string name, int fallback, int min, int max, DocumentFields fields) =>
        FieldReaders.Integer(node, path, name, fallback, min, max, fields);

    internal static TimeSpan Duration(DocumentNode node, string path, string name, TimeSpan fallback, DocumentFields fields, bool allowZero = false) =>
        FieldReaders.Duration(node, path, name, fallback, fields, allowZero);
}
