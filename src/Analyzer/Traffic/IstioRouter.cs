using Canary.Analyzer.Kubernetes;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;

namespace Canary.Analyzer.Traffic;

/// <summary>
/// Istio: a VirtualService `app` whose route named "canary" splits traffic between the hosts
/// `app-primary` and `app-canary` (weights adding up to 100), a route "canary-match" before it for
/// A/B tests (header or cookie → canary), optional mirroring of primary traffic to the canary, and
/// a DestinationRule per host. Routes of the user's that lead elsewhere are left as they are.
/// </summary>
internal sealed partial class IstioRouter(IKubernetes client, TimeProvider time) : ITrafficRouter
{
    private const string CanaryRoute = "canary";
    private const string MatchRoute = "canary-match";
    private readonly CustomObjects virtualServices = new(client, time, "networking.istio.io", "v1beta1", "virtualservices", "VirtualService");
    private readonly CustomObjects destinationRules = new(client, time, "networking.istio.io", "v1beta1", "destinationrules", "DestinationRule");

    public string Name => RouterNames.Istio;

    /// <summary>Istio's telemetry labels requests by the workload that served them: NAME-primary and NAME (the canary runs as the target).</summary>
    public CohortLabels DefaultCohorts(string target, string revision) => new("destination_workload", $"{target}-primary", target, Regex: false);

    public async Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        // Destinations first: the VirtualService never points at a host without its rule.
        foreach (var host in new[] { target.Primary, target.Canary })
        {
            await destinationRules.EnsureAsync(target.Namespace, host, () => new JsonObject { ["host"] = host }, _ => false, cancellationToken);
        }

        await virtualServices.EnsureAsync(target.Namespace, target.Name, () => Spec(target, Routing.AllPrimary), current =>
        {
            var existing = Read(current, target);
            var spec = current["spec"] as JsonObject ?? [];
            var before = spec.ToJsonString();
            Adopt(spec, target, existing ?? Routing.AllPrimary);
            current["spec"] = spec;
            return spec.ToJsonString() != before;
        }, cancellationToken);
    }

    public Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(routing);
        routing.Validated();
        return virtualServices.UpdateAsync(target.Namespace, target.Name, current =>
        {
            var spec = current["spec"]!.AsObject();
            var before = spec.ToJsonString();
            Adopt(spec, target, routing);
            return spec.ToJsonString() != before;
        }, cancellationToken);
    }

    public async Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var service = await virtualServices.GetAsync(target.Namespace, target.Name, cancellationToken)
            ?? throw new RoutingException($"{virtualServices.Describe(target.Namespace, target.Name)} does not exist; reconcile the router first");
        return Read(service, target) ?? throw new RoutingException($"{virtualServices.Describe(target.Namespace, target.Name)} has no route \"{CanaryRoute}\" to {target.Primary} and {target.Canary}");
    }

    public async Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        await virtualServices.RestoreAsync(target.Namespace, target.Name, cancellationToken);
        foreach (var host in new[] { target.Primary, target.Canary })
        {
            await destinationRules.RestoreAsync(target.Namespace, host, cancellationToken);
        }
    }

    private static JsonObject Spec(RouterTarget target, Routing routing)
    {
        var spec = new JsonObject();
        Adopt(spec, target, routing);
        return spec;
    }

    /// <summary>
    /// Sets hosts, gateways and canary's routes in spec. The user's routes that lead elsewhere keep
    /// their place; canary's routes stand where the first route to the apex, primary or canary
    /// host stood (or last), and the canary route keeps that route's settings (match, timeout,
    /// retries, headers) with its destinations replaced.
    /// </summary>
    private static void Adopt(JsonObject spec, RouterTarget target, Routing routing)
    {
        spec["hosts"] ??= new JsonArray([.. (target.Hosts.Count > 0 ? target.Hosts : [target.Name]).Select(h => (JsonNode)h)]);
        if (target.Gateways.Count > 0)
        {
            spec["gateways"] = new JsonArray([.. target.Gateways.Select(g => (JsonNode)g)]);
        }

        var ours = new HashSet<string>([target.Name, target.Primary, target.Canary], StringComparer.Ordinal);
        var kept = new List<JsonNode>();
        var position = -1;
        JsonObject? template = null;
        foreach (var route in (spec["http"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = route["name"]?.GetValue<string>();
            var hosts = (route["route"] as JsonArray ?? []).Select(d => d?["destination"]?["host"]?.GetValue<string>()).ToList();
            if (name is not (CanaryRoute or MatchRoute) && !hosts.Any(h => h is not null && ours.Contains(h)))
            {
                kept.Add(route.DeepClone());
                continue;
            }

            if (position < 0)
            {
                position = kept.Count;
            }

            if (name != MatchRoute && template is null)
            {
                template = route.DeepClone().AsObject();
            }
        }

        var main = template ?? [];
        foreach (var field in new[] { "name", "route", "mirror", "mirrorPercentage" })
        {
            main.Remove(field);
        }

        main["name"] = CanaryRoute;
        main["route"] = new JsonArray(Destination(target.Primary, routing.PrimaryWeight), Destination(target.Canary, routing.CanaryWeight));
        if (routing.Mirror)
        {
            main["mirror"] = new JsonObject { ["host"] = target.Canary };
            main["mirrorPercentage"] = new JsonObject { ["value"] = 100.0 };
        }

        var ourRoutes = new List<JsonNode>();
        if (routing.Match is { } match)
        {
            ourRoutes.Add(new JsonObject
            {
                ["name"] = MatchRoute,
                ["match"] = new JsonArray(Condition(match)),
                ["route"] = new JsonArray(Destination(target.Canary, 100)),
            });
        }

        ourRoutes.Add(main);
        kept.InsertRange(position < 0 ? kept.Count : position, ourRoutes);
        spec["http"] = new JsonArray([.. kept]);
    }

    private static JsonObject Condition(RouteMatch match) => match.Header is { } header
        ? new JsonObject { ["headers"] = new JsonObject { [header] = match.HeaderValue is { } value ? new JsonObject { ["exact"] = value } : new JsonObject { ["regex"] = ".*" } } }
        : new JsonObject { ["headers"] = new JsonObject { ["cookie"] = new JsonObject { ["regex"] = $"^(.*?;\\s*)?({Regex.Escape(match.Cookie!)}=.*)(;.*)?$" } } };

    private static JsonObject Destination(string host, int weight) => new() { ["destination"] = new JsonObject { ["host"] = host }, ["weight"] = weight };

    /// <summary>The cookie condition canary writes, ^(.*?;\s*)?(NAME=.*)(;.*)?$, giving NAME.</summary>
    [GeneratedRegex(@"^\^\(\.\*\?;\\s\*\)\?\((.+)=\.\*\)\(;\.\*\)\?\$$")]
    private static partial Regex CookieCondition();

    /// <summary>The routing the VirtualService holds, or null when it has no canary route.</summary>
    private static Routing? Read(JsonObject service, RouterTarget target)
    {
        var routes = (service["spec"]?["http"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var main = routes.FirstOrDefault(r => r["name"]?.GetValue<string>() == CanaryRoute);
        if (main is null)
        {
            return null;
        }

        int Weight(string host) => (main["route"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(d => d["destination"]?["host"]?.GetValue<string>() == host)
            .Sum(d => d["weight"] is { } w ? (int)double.Parse(w.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : 0);
        var match = routes.FirstOrDefault(r => r["name"]?.GetValue<string>() == MatchRoute)?["match"]?[0]?["headers"] as JsonObject;
        RouteMatch? routeMatch = null;
        if (match is not null && match.FirstOrDefault() is var (header, condition))
        {
            var exact = condition?["exact"]?.GetValue<string>();
            var cookie = header == "cookie" && condition?["regex"]?.GetValue<string>() is { } regex && CookieCondition().Match(regex) is { Success: true } found
                ? Regex.Unescape(found.Groups[1].Value)
                : null;
            routeMatch = cookie is not null ? new RouteMatch(Cookie: cookie) : new RouteMatch(header, exact);
        }

        return new Routing(Weight(target.Canary), routeMatch, main["mirror"] is not null);
    }
}
