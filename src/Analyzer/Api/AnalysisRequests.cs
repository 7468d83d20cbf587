using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Canary.Judge;
using Canary.Judge.Results;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>How the judgements of a multi-interval analysis grow (Kayenta's default) or slide.</summary>
internal enum JudgementWindow
{
    Growing,
    Sliding,
}

/// <summary>
/// An analysis request, read and checked: the config, the cohorts, the window and, for the
/// multi-interval form (Kayenta's canary analysis execution), one judgement every Interval.
/// </summary>
internal sealed record AnalysisRequest(
    string Service, CanaryConfig Config, Cohorts Cohorts, DateTimeOffset Start, DateTimeOffset End, TimeSpan Step, TimeSpan? Interval, JudgementWindow Window, bool FailFast)
{
    /// <summary>The config is a named one (an admin put it), not inline in the request.</summary>
    public bool FromConfigName { get; init; }

    /// <summary>The judgements' windows: one over the whole window, or one per interval (growing from the start, or sliding).</summary>
    public IReadOnlyList<AnalysisWindow> Judgements()
    {
        if (Interval is not { } every)
        {
            return [new AnalysisWindow(Start, End, Step)];
        }

        var windows = new List<AnalysisWindow>();
        for (var end = Start + every; end <= End + TimeSpan.FromTicks(every.Ticks / 1000); end += every)
        {
            var clipped = end > End ? End : end;
            windows.Add(new AnalysisWindow(Window == JudgementWindow.Growing ? Start : clipped - every, clipped, Step));
        }

        return windows;
    }
}

/// <summary>Reads POST /api/v1/analyses bodies; every problem names its field.</summary>
internal static class AnalysisRequestReader
{
    private static readonly string[] Fields =
        ["service", "config", "configName", "control", "experiment", "start", "end", "lifetime", "step", "variables", "interval", "window", "failFast"];

    /// <summary>The request, or the problems; configName is resolved by lookup (null when no such config).</summary>
    public static async Task<(AnalysisRequest? Request, IReadOnlyList<FieldProblem> Problems)> ReadAsync(
        byte[] body, TemplateLibrary templates, Func<string, Task<string?>> lookup, ApiOptions limits, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(clock);

        // "now" is one instant for the whole request: start now-7d and end now make exactly 7 days.
        var time = new FixedTime(clock.GetUtcNow());
        DocumentNode root;
        try
        {
            root = DocumentNode.ParseJson(body);
        }
        catch (DocumentException e)
        {
            return (null, [Problems.Syntax(e)]);
        }

        var fields = new DocumentFields();
        var problems = new List<FieldProblem>();
        if (!fields.Object(root, string.Empty, Fields))
        {
            return (null, Convert(fields));
        }

        var service = fields.String(root, string.Empty, "service", string.Empty);
        if (service.Length == 0)
        {
            fields.Problem("service", "is required: the name the analysis is kept under (e.g. the service or the release)", root.Line);
        }

        var control = fields.String(root, string.Empty, "control", string.Empty);
        var experiment = fields.String(root, string.Empty, "experiment", string.Empty);
        foreach (var (cohort, value) in new[] { ("control", control), ("experiment", experiment) })
        {
            if (value.Length == 0)
            {
                fields.Problem(cohort, "is required: the label matchers of the cohort, e.g. version=\"v1\"", root.Line);
            }
            else if (LabelMatchers.Parse(value, out var reason) is { } canonical)
            {
                // Only label matchers, written back with every value escaped: a caller selects a cohort, never adds PromQL.
                (control, experiment) = cohort == "control" ? (canonical, experiment) : (control, canonical);
            }
            else
            {
                fields.Problem(cohort, reason, root[cohort]!.Line);
            }
        }

        var variables = fields.StringMap(root, string.Empty, "variables");
        CanaryConfig? config = null;
        var templateProblems = new List<string>();
        var inline = fields.Get(root, string.Empty, "config");
        var name = root["configName"] is null ? null : fields.String(root, string.Empty, "configName", string.Empty);
        if (inline is not null && name is not null)
        {
            fields.Problem("configName", "give either config (inline) or configName, not both", root["configName"]!.Line);
        }
        else if (inline is not null)
        {
            config = CanaryConfigReader.ReadNode(inline, "config", fields, templates, variables, templateProblems);
        }
        else if (name is not null)
        {
            if (await lookup(name) is not { } text)
            {
                problems.Add(new FieldProblem("configName", $"no config is named \"{DocumentNode.Shorten(name)}\" (PUT /api/v1/configs/{{name}} adds one)"));
            }
            else
            {
                try
                {
                    config = CanaryConfigReader.Read(name, text, templates, variables);
                }
                catch (Documents.InputException e)
                {
                    problems.AddRange(e.Problems.Select(p => new FieldProblem("configName", $"the stored config is no longer valid: {p}")));
                }
            }
        }
        else
        {
            fields.Problem("config", "is required: the canary config inline, or configName for a stored one", root.Line);
        }

        var start = Time(root, fields, "start", null, time);
        var end = Time(root, fields, "end", "now", time);
        if (root["lifetime"] is not null)
        {
            if (root["end"] is not null)
            {
                fields.Problem("lifetime", "give either end or lifetime, not both", root["lifetime"]!.Line);
            }
            else if (start is { } from && Duration(root, fields, "lifetime") is { } lifetime)
            {
                if (lifetime > limits.MaxWindow)
                {
                    fields.Problem("lifetime", $"{Documents.TimeArguments.Format(lifetime)} is longer than the {Documents.TimeArguments.Format(limits.MaxWindow)} allowed (Api:MaxWindow)", root["lifetime"]!.Line);
                }
                else
                {
                    end = from + lifetime;
                }
            }
        }

        var step = root["step"] is null ? null : Duration(root, fields, "step");
        var interval = root["interval"] is null ? null : Duration(root, fields, "interval");
        var window = fields.Enum(root, string.Empty, "window", JudgementWindow.Growing);
        var failFast = fields.Boolean(root, string.Empty, "failFast", false);
        problems.InsertRange(0, Convert(fields));
        problems.AddRange(templateProblems.Select(p => new FieldProblem("config", p)));
        if (problems.Count > 0 || config is null || start is null || end is null)
        {
            return (null, problems.Count > 0 ? problems : [new FieldProblem("start", "is required: an RFC 3339 time or now-30m")]);
        }

        var realStep = step ?? (PromQl.TryParseDuration(config.Step, out var configured) ? configured : TimeSpan.FromSeconds(30));
        // A real-time analysis may wait for its windows, but not beyond MaxWindow from now (and no time near the calendar's end).
        if (end.Value > time.GetUtcNow() + limits.MaxWindow)
        {
            return (null, [new FieldProblem(root["lifetime"] is null ? "end" : "lifetime", $"ends after now + {Documents.TimeArguments.Format(limits.MaxWindow)} (Api:MaxWindow); a real-time analysis may wait that long at most")]);
        }

        var request = new AnalysisRequest(service, config, new Cohorts(control, experiment), start.Value, end.Value, realStep, interval, window, failFast) { FromConfigName = name is not null };
        return Check(request, limits) is { } bound ? (null, [bound]) : (request, []);
    }

    /// <summary>The bounds: a window that ends after it starts, at most MaxWindow long, judgements of at most MaxSteps steps, at most MaxIntervals of them.</summary>
    private static FieldProblem? Check(AnalysisRequest request, ApiOptions limits)
    {
        if (request.End <= request.Start)
        {
            return new FieldProblem("end", $"{request.End:O} is not after start {request.Start:O}");
        }

        if (request.End - request.Start > limits.MaxWindow)
        {
            return new FieldProblem("start", $"the window of {Documents.TimeArguments.Format(request.End - request.Start)} is longer than the {Documents.TimeArguments.Format(limits.MaxWindow)} allowed (Api:MaxWindow)");
        }

        if (request.Step <= TimeSpan.Zero)
        {
            return new FieldProblem("step", "must be positive");
        }

        if (request.Interval is { } interval)
        {
            if (interval < request.Step)
            {
                return new FieldProblem("interval", $"{Documents.TimeArguments.Format(interval)} is shorter than the step {Documents.TimeArguments.Format(request.Step)}");
            }

            if ((request.End - request.Start) / interval > limits.MaxIntervals)
            {
                return new FieldProblem("interval", $"makes {(int)((request.End - request.Start) / interval)} judgements; at most {limits.MaxIntervals} are allowed (Api:MaxIntervals)");
            }

            if (interval > request.End - request.Start)
            {
                return new FieldProblem("interval", $"{Documents.TimeArguments.Format(interval)} is longer than the window");
            }
        }

        var longest = request.Judgements().Max(w => w.Steps);
        return longest > AnalysisWindow.MaxSteps
            ? new FieldProblem("step", $"{Documents.TimeArguments.Format(request.Step)} gives {longest} steps in a judgement; Prometheus allows {AnalysisWindow.MaxSteps}: use a larger step or a shorter window")
            : null;
    }

    private static DateTimeOffset? Time(DocumentNode root, DocumentFields fields, string name, string? fallback, TimeProvider time)
    {
        var text = fields.String(root, string.Empty, name, fallback ?? string.Empty);
        if (text.Length == 0)
        {
            fields.Problem(name, "is required: an RFC 3339 time (2026-11-28T08:00:00Z) or now-30m", root.Line);
            return null;
        }

        try
        {
            return Documents.TimeArguments.ParseTime(name, text, time);
        }
        catch (Documents.InputException e)
        {
            fields.Problem(name, e.Problems[0].StartsWith(name + ": ", StringComparison.Ordinal) ? e.Problems[0][(name.Length + 2)..] : e.Problems[0], root[name]?.Line ?? root.Line);
            return null;
        }
    }

    private static TimeSpan? Duration(DocumentNode root, DocumentFields fields, string name)
    {
        var text = fields.String(root, string.Empty, name, string.Empty);
        if (PromQl.TryParseDuration(text, out var duration) && duration > TimeSpan.Zero)
        {
            return duration;
        }

        fields.Problem(name, $"\"{DocumentNode.Shorten(text)}\" is not a duration such as 30s, 10m or 1h", root[name]?.Line ?? root.Line);
        return null;
    }

    private static List<FieldProblem> Convert(DocumentFields fields) =>
        [.. fields.Problems.OrderBy(p => p.Line).Select(p => new FieldProblem(p.Path, p.Reason, p.Line > 0 ? p.Line : null))];
}
