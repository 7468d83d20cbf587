using System.Reflection;
using Canary.Analyzer.Documents;

namespace Canary.Analyzer.Simulation;

/// <summary>
/// Reads a scenario file of `canary simulate` (YAML, documented in docs/STATISTICS.md): the number
/// of rollouts, the seed, the rules, the rollout settings (spec.analysis's words) and the scenarios.
/// Every problem names its line and field; nothing is run until the whole file is right.
/// </summary>
internal static class ScenarioReader
{
    /// <summary>Rollouts per scenario and rule at most: a study keeps each rollout's outcome until it is summarised.</summary>
    public const int MaxRollouts = 100_000;

    /// <summary>Scrapes a simulated rollout may keep per cohort.</summary>
    public const int MaxScrapes = 50_000;

    /// <summary>The study the command runs without --scenarios (the file docs/STATISTICS.md's tables come from).</summary>
    public static StudyPlan Default()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("study.yaml")
            ?? throw new InvalidOperationException("the built-in study.yaml is missing from the assembly");
        using var reader = new StreamReader(stream);
        return Read("study.yaml", reader.ReadToEnd());
    }

    /// <exception cref="InputException">The file is not a valid scenario file.</exception>
    public static StudyPlan Read(string source, string text)
    {
        var (plan, problems) = DocumentFields.ReadDocument<StudyPlan>(source, text, (root, fields, _) => Read(root, fields));
        return plan ?? throw new InputException(problems);
    }

    private static StudyPlan? Read(DocumentNode root, DocumentFields fields)
    {
        if (!fields.Object(root, string.Empty, "rollouts", "seed", "rules", "analysis", "scenarios"))
        {
            return null;
        }

        var settings = new StudySettings
        {
            Rollouts = FieldReaders.Integer(root, string.Empty, "rollouts", 200, 1, MaxRollouts, fields),
            Seed = (ulong)FieldReaders.Integer(root, string.Empty, "seed", 1, 0, int.MaxValue, fields),
            Rules = Rules(root, fields),
        };
        if (fields.Get(root, string.Empty, "analysis") is { } analysis)
        {
            settings = Analysis(analysis, settings, fields);
        }

        var scenarios = new List<Scenario>();
        if (fields.Get(root, string.Empty, "scenarios") is not { Kind: NodeKind.Sequence } list || list.Items.Count == 0)
        {
            fields.Problem("scenarios", "must be a list of at least one scenario");
            return null;
        }

        for (var i = 0; i < list.Items.Count; i++)
        {
            if (ReadScenario(list.Items[i], $"scenarios[{i}]", fields) is { } scenario)
            {
                if (scenarios.Any(s => s.Name == scenario.Name))
                {
                    fields.Problem(list.Items[i], $"scenarios[{i}].name", $"\"{scenario.Name}\" is the name of an earlier scenario");
                }

                scenarios.Add(scenario);
            }
        }

        return new StudyPlan(settings, scenarios);
    }

    private static List<string> Rules(DocumentNode root, DocumentFields fields)
    {
        if (fields.Get(root, string.Empty, "rules") is not { } node)
        {
            return [.. new StudySettings().Rules];
        }

        if (node.Kind != NodeKind.Sequence || node.Items.Count == 0)
        {
            fields.Problem(node, "rules", $"must be a list of rules from {string.Join(", ", SimulationRules.All)}");
            return [];
        }

        var rules = new List<string>();
        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            if (item.Kind != NodeKind.String || !SimulationRules.All.Contains(item.Text))
            {
                fields.Problem(item, $"rules[{i}]", $"{item.Describe()} is not one of {string.Join(", ", SimulationRules.All)}");
            }
            else if (!rules.Contains(item.Text))
            {
                rules.Add(item.Text);
            }
        }

        return rules;
    }

    private static StudySettings Analysis(DocumentNode node, StudySettings s, DocumentFields fields)
    {
        const string at = "analysis";
        if (!fields.Object(node, at, "interval", "window", "step", "warmUp", "maxNoEvidence", "threshold", "minSamples", "stepWeights", "confidenceLevel", "limits", "scrapeInterval", "maxDuration"))
        {
            return s;
        }

        s = s with
        {
            Interval = FieldReaders.Duration(node, at, "interval", s.Interval, fields),
            Window = FieldReaders.Duration(node, at, "window", s.Window, fields),
            Step = FieldReaders.Duration(node, at, "step", s.Step, fields),
            WarmUp = FieldReaders.Duration(node, at, "warmUp", s.WarmUp, fields, allowZero: true),
            MaxNoEvidence = FieldReaders.Duration(node, at, "maxNoEvidence", s.MaxNoEvidence, fields),
            Threshold = FieldReaders.Integer(node, at, "threshold", s.Threshold, 1, 1000, fields),
            MinSamples = FieldReaders.Integer(node, at, "minSamples", s.MinSamples, 1, 10_000, fields),
            ConfidenceLevel = Between(node, at, "confidenceLevel", s.ConfidenceLevel, 0.5, 0.999999, fields),
            Scrape = FieldReaders.Duration(node, at, "scrapeInterval", s.Scrape, fields),
            MaxDuration = FieldReaders.Duration(node, at, "maxDuration", s.MaxDuration, fields),
        };
        foreach (var (name, value, most) in new[] { ("interval", s.Interval, TimeSpan.FromHours(1)), ("window", s.Window, TimeSpan.FromHours(24)), ("maxDuration", s.MaxDuration, TimeSpan.FromDays(7)), ("warmUp", s.WarmUp, TimeSpan.FromHours(1)), ("maxNoEvidence", s.MaxNoEvidence, TimeSpan.FromDays(1)) })
        {
            if (value > most)
            {
                fields.Problem($"analysis.{name}", $"must be at most {Documents.TimeArguments.Format(most)} (a simulated rollout keeps its scrapes)");
            }
        }

        if (s.Scrape >= TimeSpan.FromSeconds(1) && (s.MaxDuration + s.Window) / s.Scrape > MaxScrapes)
        {
            fields.Problem("analysis.scrapeInterval", $"gives more than {MaxScrapes} scrapes over maxDuration and the window; scrape less often or shorten maxDuration");
        }

        if (s.Interval < TimeSpan.FromSeconds(1) || s.Scrape < TimeSpan.FromSeconds(1))
        {
            fields.Problem(s.Interval < TimeSpan.FromSeconds(1) ? "analysis.interval" : "analysis.scrapeInterval", "must be at least 1s");
        }
        else if (s.Scrape * 2 > s.Interval)
        {
            fields.Problem("analysis.scrapeInterval", "must be at most half the interval, so that every rate() over an interval sees two scrapes");
        }

        if (s.Step > s.Interval)
        {
            fields.Problem("analysis.step", "must be at most the interval");
        }

        if (fields.Get(node, at, "stepWeights") is { } steps)
        {
            var weights = steps.Kind == NodeKind.Sequence ? steps.Items.Select(i => i.TryGetNumber(out var w) && w == Math.Floor(w) && w is > 0 and < 100 ? (int)w : -1).ToList() : [];
            if (weights.Count == 0 || weights.Contains(-1) || weights.Zip(weights.Skip(1)).Any(p => p.First >= p.Second))
            {
                fields.Problem(steps, "analysis.stepWeights", "must be a list of increasing whole percentages from 1 to 99");
            }
            else
            {
                s = s with { StepWeights = weights };
            }
        }

        if (fields.Get(node, at, "limits") is { } limits && fields.Object(limits, "analysis.limits", "errorRate", "p99"))
        {
            s = s with
            {
                ErrorLimit = Between(limits, "analysis.limits", "errorRate", s.ErrorLimit, 0, 1, fields),
                LatencyLimit = Between(limits, "analysis.limits", "p99", s.LatencyLimit, 0, 3600, fields),
            };
        }

        return s;
    }

    private static Scenario? ReadScenario(DocumentNode node, string at, DocumentFields fields)
    {
        if (!fields.Object(node, at, "name", "requests", "traffic", "amplitude", "burstiness", "errors", "latency", "canary", "burst"))
        {
            return null;
        }

        var name = fields.String(node, at, "name", string.Empty);
        if (name.Length == 0)
        {
            fields.Problem(node, $"{at}.name", "missing; every scenario has a name");
        }

        var scenario = new Scenario
        {
            Name = name,
            Requests = Between(node, at, "requests", 50, 0.01, 100_000, fields),
            Traffic = fields.Enum(node, at, "traffic", TrafficShape.Flat),
            Amplitude = Between(node, at, "amplitude", 0.6, 0, 0.95, fields),
            Burstiness = Between(node, at, "burstiness", 0.5, 0.01, 5, fields),
            Errors = Between(node, at, "errors", 0.005, 0, 1, fields),
        };
        if (fields.Get(node, at, "latency") is { } latency && fields.Object(latency, $"{at}.latency", "median", "sigma"))
        {
            scenario = scenario with
            {
                LatencyMedian = Between(latency, $"{at}.latency", "median", scenario.LatencyMedian, 0.0001, 3600, fields),
                LatencySigma = Between(latency, $"{at}.latency", "sigma", scenario.LatencySigma, 0.01, 5, fields),
            };
        }

        if (fields.Get(node, at, "canary") is { } canary && fields.Object(canary, $"{at}.canary", "errors", "latency"))
        {
            scenario = scenario with
            {
                CanaryErrors = Between(canary, $"{at}.canary", "errors", 1, 0, 1000, fields),
                CanaryLatency = Between(canary, $"{at}.canary", "latency", 1, 0.01, 100, fields),
            };
        }

        if (fields.Get(node, at, "burst") is { } burst && fields.Object(burst, $"{at}.burst", "at", "for", "errors"))
        {
            var path = $"{at}.burst";
            scenario = scenario with
            {
                Burst = new ErrorBurst(
                    FieldReaders.Duration(burst, path, "at", TimeSpan.Zero, fields, allowZero: true),
                    FieldReaders.Duration(burst, path, "for", TimeSpan.FromMinutes(2), fields),
                    Between(burst, path, "errors", 0.05, 0, 1, fields)),
            };
        }

        if (scenario.Errors * scenario.CanaryErrors > 1 || (scenario.Burst is { } b && b.Errors * scenario.CanaryErrors > 1))
        {
            fields.Problem($"{at}.canary.errors", "makes the canary's share of failed requests more than 1");
        }

        return scenario;
    }

    private static double Between(DocumentNode node, string path, string name, double fallback, double min, double max, DocumentFields fields)
    {
        var value = fields.Number(node, path, name, fallback);
        if (value < min || value > max)
        {
            fields.Problem($"{path}.{name}".TrimStart('.'), $"must be from {DocumentFields.Show(min)} to {DocumentFields.Show(max)}, got {DocumentFields.Show(value)}");
            return fallback;
        }

        return value;
    }
}
