using System.Globalization;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Rollouts;

/// <summary>
/// The spec.analysis section of a Canary as the state machine reads it: strategy, steps (or
/// Flagger's stepWeight/maxWeight), the A/B match, threshold, warm-up, gates and webhooks; every
/// problem names its field.
/// </summary>
internal static class RolloutSpecReader
{
    public static RolloutSpec Read(DocumentNode? analysis, DocumentFields fields, string router, TimeSpan progressDeadline)
    {
        var spec = new RolloutSpec { ProgressDeadline = progressDeadline };
        if (analysis is null)
        {
            return spec;
        }

        const string at = "spec.analysis";
        var match = ReadMatch(analysis, fields);
        var iterations = analysis["iterations"] is null ? (int?)null : CanaryResourceReader.Integer(analysis, at, "iterations", 10, 1, 10_000, fields);
        var hasSteps = analysis["stepWeights"] is not null || analysis["stepWeight"] is not null;
        var strategy = analysis["strategy"] is not null
            ? fields.Enum(analysis, at, "strategy", RolloutStrategy.Canary)
            : match is not null ? RolloutStrategy.AbTest : iterations is not null && !hasSteps ? RolloutStrategy.BlueGreen : RolloutStrategy.Canary;
        var steps = ReadSteps(analysis, fields);
        if (strategy == RolloutStrategy.Canary && router == RouterNames.Service)
        {
            fields.Problem("spec.router", "the service router switches all traffic at once: use strategy blueGreen, or a router that splits by weight (istio, nginx, traefik)", analysis.Line);
        }

        if (strategy == RolloutStrategy.AbTest && match is null)
        {
            fields.Problem($"{at}.match", "an A/B test needs a match: {header: NAME, value: VALUE} or {cookie: NAME}", analysis.Line);
        }

        if (strategy == RolloutStrategy.AbTest && router is RouterNames.Traefik or RouterNames.Service)
        {
            fields.Problem("spec.router", $"A/B tests need a router that matches requests (istio, nginx), not {router}", analysis.Line);
        }

        return spec with
        {
            Strategy = strategy,
            StepWeights = steps,
            Iterations = iterations ?? 10,
            Match = match,
            Threshold = CanaryResourceReader.Integer(analysis, at, "threshold", 5, 1, 1000, fields),
            WarmUp = CanaryResourceReader.Duration(analysis, at, "warmUp", TimeSpan.Zero, fields, allowZero: true),
            DryRun = fields.Boolean(analysis, at, "dryRun", false),
            MaxNoEvidence = analysis["maxNoEvidence"] is null ? null : CanaryResourceReader.Duration(analysis, at, "maxNoEvidence", progressDeadline, fields),
            PromoteEarlyBelow = ReadPromoteEarly(analysis, fields),
        };
    }

    /// <summary>analysis.promoteEarly: {below: R}, R above 1 (a bound below 1 would promote only canaries better than their baseline).</summary>
    private static double? ReadPromoteEarly(DocumentNode analysis, DocumentFields fields)
    {
        const string at = "spec.analysis.promoteEarly";
        if (fields.Get(analysis, "spec.analysis", "promoteEarly") is not { } early || !fields.Object(early, at, ["below"]))
        {
            return null;
        }

        if (early["below"] is null)
        {
            fields.Problem(early, at, "needs \"below\": the ratio every sequential metric's upper bound must be under, e.g. {below: 1.2}");
            return null;
        }

        var below = fields.Number(early, at, "below", 1.2);
        if (below <= 1 || below > 100)
        {
            fields.Problem(early["below"]!, $"{at}.below", $"{below.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a ratio above 1 and at most 100 (e.g. 1.2: the canary is at most 20 % worse)");
            return null;
        }

        return below;
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

        var step = CanaryResourceReader.Integer(analysis, at, "stepWeight", 10, 1, 100, fields);
        var max = CanaryResourceReader.Integer(analysis, at, "maxWeight", 50, 1, 100, fields);
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

    public static List<WebhookSpec> Webhooks(DocumentNode analysis, DocumentFields fields)
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

            hooks.Add(new WebhookSpec(name, type, uri, CanaryResourceReader.Duration(hook, path, "timeout", TimeSpan.FromSeconds(30), fields), fields.StringMap(hook, path, "metadata")));
        }

        return hooks;
    }
}
