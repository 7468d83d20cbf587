using System.Globalization;
using Canary.Analyzer.Judging;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Rollouts;

/// <summary>
/// Reads a Canary resource (YAML or JSON; a file in local mode, an object from the API server in a
/// cluster). Every problem names its field (and line, for files), so it can go to the resource's
/// status and events as well as to the terminal.
/// </summary>
public static partial class CanaryResourceReader
{
    /// <summary>Routers that split by weight; the service router only switches (blue/green).</summary>
    public static readonly IReadOnlyList<string> Routers = ["istio", "nginx", "traefik", "service", "haproxy"];

    private static readonly string[] TopFields = ["apiVersion", "kind", "metadata", "spec", "status"];
    private static readonly string[] SpecFields = ["targetRef", "router", "service", "analysis", "progressDeadline", "skipAnalysis", "suspend"];
    private static readonly string[] AnalysisFields =
        ["interval", "window", "threshold", "stepWeights", "stepWeight", "maxWeight", "iterations", "strategy", "match", "mirror", "warmUp", "minSamples", "dryRun", "config", "configRef", "webhooks", "cohorts"];

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
        var router = fields.String(spec, "spec", "router", "istio");
        if (!Routers.Contains(router))
        {
            fields.Problem(spec["router"]!, "spec.router", $"\"{router}\" is not one of {string.Join(", ", Routers)}");
        }
        else if ((router == "haproxy") != (processFile is not null))
        {
            fields.Problem(spec["router"] ?? spec, "spec.router", processFile is null
                ? "the haproxy router drives local workloads: spec.targetRef needs kind Process and a path (Kubernetes targets use istio, nginx, traefik or service)"
                : $"local workloads (kind Process) are routed by haproxy, not {router}");
        }

        var routes = ReadService(spec, fields, ns, target);
        if (router == "haproxy" && routes.RuntimeApi is null && !fields.Problems.Any(p => p.Path.StartsWith("spec.service", StringComparison.Ordinal)))
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
        var rollout = ReadRollout(analysis, fields, router, progressDeadline) with
        {
            SkipAnalysis = skip,
            Suspend = fields.Boolean(spec, "spec", "suspend", false),
        };
        var webhooks = analysis is null ? [] : ReadWebhooks(analysis, fields);
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
        if (mirror && router != "istio")
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
            Window = analysis is null ? TimeSpan.FromMinutes(5) : Duration(analysis, "spec.analysis", "window", TimeSpan.FromMinutes(5), fields),
            MinSamples = analysis is null ? 10 : Integer(analysis, "spec.analysis", "minSamples", 10, 1, 100_000, fields),
            Rollout = rollout,
            Config = config,
            ConfigRef = configRef,
            Webhooks = webhooks,
            Mirror = mirror,
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

    private static RolloutSpec ReadRollout(DocumentNode? analysis, DocumentFields fields, string router, TimeSpan progressDeadline)
    {
        var spec = new RolloutSpec { ProgressDeadline = progressDeadline };
        if (analysis is null)
        {
            return spec;
        }

        const string at = "spec.analysis";
        var match = ReadMatch(analysis, fields);
        var iterations = analysis["iterations"] is null ? (int?)null : Integer(analysis, at, "iterations", 10, 1, 10_000, fields);
        var hasSteps = analysis["stepWeights"] is not null || analysis["stepWeight"] is not null;
        var strategy = analysis["strategy"] is not null
            ? fields.Enum(analysis, at, "strategy", RolloutStrategy.Canary)
            : match is not null ? RolloutStrategy.AbTest : iterations is not null && !hasSteps ? RolloutStrategy.BlueGreen : RolloutStrategy.Canary;
        var steps = ReadSteps(analysis, fields);
        if (strategy == RolloutStrategy.Canary && router == "service")
        {
            fields.Problem("spec.router", "the service router switches all traffic at once: use strategy blueGreen, or a router that splits by weight (istio, nginx, traefik)", analysis.Line);
        }

        if (strategy == RolloutStrategy.AbTest && match is null)
        {
            fields.Problem($"{at}.match", "an A/B test needs a match: {header: NAME, value: VALUE} or {cookie: NAME}", analysis.Line);
        }

        if (strategy == RolloutStrategy.AbTest && router is "traefik" or "service")
        {
            fields.Problem("spec.router", $"A/B tests need a router that matches requests (istio, nginx), not {router}", analysis.Line);
        }

        return spec with
        {
            Strategy = strategy,
            StepWeights = steps,
            Iterations = iterations ?? 10,
            Match = match,
            Threshold = Integer(analysis, at, "threshold", 5, 1, 1000, fields),
            WarmUp = Duration(analysis, at, "warmUp", TimeSpan.Zero, fields, allowZero: true),
            DryRun = fields.Boolean(analysis, at, "dryRun", false),
        };
    }

    /// <summary>stepWeights: [5, 10, 25, 50], or stepWeight/maxWeight (Flagger's: 10 up to 50 gives 10, 20, 30, 40, 50).</summary>
    private static List<int> ReadSteps(DocumentNode analysis, DocumentFields fields)
    {
        const string at = "spec.analysis";
        if (fields.Get(analysis, at, "stepWeights") is { } list)
        {
            if (analysis["stepWeight"] is not null || analysis["maxWeight"] is not null)
            {
                fields.Problem(list, $"{at}.stepWeights", "give either stepWeights or stepWeight/maxWeight, not both");
            }

            if (list.Kind != NodeKind.Sequence || list.Items.Count == 0)
            {
                fields.Problem(list, $"{at}.stepWeights", $"must be a list of weights such as [5, 10, 25, 50], got {list.Describe()}");
                return [10, 20, 30, 40, 50];
            }

            var steps = new List<int>();
            for (var i = 0; i < list.Items.Count; i++)
            {
                var item = list.Items[i];
                var path = $"{at}.stepWeights[{i}]";
                if (!item.TryGetNumber(out var weight) || weight != Math.Floor(weight) || weight is < 1 or > 100)
                {
                    fields.Problem(item, path, $"must be a whole percentage from 1 to 100, got {item.Describe()}");
                }
                else if (steps.Count > 0 && weight <= steps[^1])
                {
                    fields.Problem(item, path, $"{weight.ToString(CultureInfo.InvariantCulture)} is not above the step before it ({steps[^1]}); weights only increase");
                }
                else
                {
                    steps.Add((int)weight);
                }
            }

            return steps.Count > 0 ? steps : [10, 20, 30, 40, 50];
        }

        var step = Integer(analysis, at, "stepWeight", 10, 1, 100, fields);
        var max = Integer(analysis, at, "maxWeight", 50, 1, 100, fields);
        if (max < step)
        {
            fields.Problem($"{at}.maxWeight", $"{max} is below stepWeight {step}", analysis["maxWeight"]?.Line ?? analysis.Line);
            return [step];
        }

        return [.. Enumerable.Range(1, max / step).Select(k => k * step)];
    }

    private static RouteMatch? ReadMatch(DocumentNode analysis, DocumentFields fields)
    {
        const string at = "spec.analysis.match";
        if (fields.Get(analysis, "spec.analysis", "match") is not { } match || !fields.Object(match, at, "header", "value", "cookie"))
        {
            return null;
        }

        var header = match["header"] is null ? null : fields.String(match, at, "header", string.Empty);
        var cookie = match["cookie"] is null ? null : fields.String(match, at, "cookie", string.Empty);
        if ((header is null) == (cookie is null))
        {
            fields.Problem(match, at, "needs exactly one of header (with an optional value) and cookie");
            return null;
        }

        return header is not null ? new RouteMatch(header, match["value"] is null ? null : fields.String(match, at, "value", string.Empty)) : new RouteMatch(Cookie: cookie);
    }

    private static List<WebhookSpec> ReadWebhooks(DocumentNode analysis, DocumentFields fields)
    {
        var hooks = new List<WebhookSpec>();
        if (fields.Get(analysis, "spec.analysis", "webhooks") is not { } list)
        {
            return hooks;
        }

        if (list.Kind != NodeKind.Sequence)
        {
            fields.Problem(list, "spec.analysis.webhooks", $"must be a list, got {list.Describe()}");
            return hooks;
        }

        for (var i = 0; i < list.Items.Count; i++)
        {
            var path = $"spec.analysis.webhooks[{i}]";
            var hook = fields.Seen(list.Items[i], path);
            if (!fields.Object(hook, path, "name", "type", "url", "timeout", "metadata"))
            {
                continue;
            }

            var name = fields.String(hook, path, "name", $"webhook-{i}");
            var type = fields.String(hook, path, "type", "rollout");
            if (!WebhookSpec.Types.Contains(type))
            {
                fields.Problem(hook["type"]!, $"{path}.type", $"\"{type}\" is not one of {string.Join(", ", WebhookSpec.Types)}");
            }

            var url = fields.String(hook, path, "url", string.Empty);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                fields.Problem(hook["url"] ?? hook, $"{path}.url", url.Length == 0 ? "is required: the http(s) URL to call" : $"\"{url}\" is not an http or https URL");
                continue;
            }

            hooks.Add(new WebhookSpec(name, type, uri, Duration(hook, path, "timeout", TimeSpan.FromSeconds(30), fields), fields.StringMap(hook, path, "metadata")));
        }

        return hooks;
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

    internal static int Integer(DocumentNode node, string path, string name, int fallback, int min, int max, DocumentFields fields)
    {
        if (fields.Get(node, path, name) is not { } value)
        {
            return fallback;
        }

        if (!value.TryGetNumber(out var number) || number != Math.Floor(number) || number < min || number > max)
        {
            fields.Problem(value, $"{path}.{name}", $"must be a whole number from {min} to {max}, got {value.Describe()}");
            return fallback;
        }

        return (int)number;
    }

    internal static TimeSpan Duration(DocumentNode node, string path, string name, TimeSpan fallback, DocumentFields fields, bool allowZero = false)
    {
        if (fields.Get(node, path, name) is not { } value)
        {
            return fallback;
        }

        if (allowZero && value.Text is "0" or "0s")
        {
            return TimeSpan.Zero;
        }

        if (value.Kind != NodeKind.String || !PromQl.TryParseDuration(value.Text, out var duration))
        {
            fields.Problem(value, $"{path}.{name}", $"{value.Describe()} is not a duration such as 30s, 1m or 1h30m");
            return fallback;
        }

        return duration;
    }
}
