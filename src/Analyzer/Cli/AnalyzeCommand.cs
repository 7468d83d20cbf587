using System.Globalization;
using System.Text;
using System.Text.Json;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Judge;
using Canary.Judge.Results;

namespace Canary.Analyzer.Cli;

/// <summary>
/// `canary analyze`: renders a canary config's queries for the two cohorts, fetches them from
/// Prometheus over a window, judges, and prints the Judge contract's output with the queries sent.
/// </summary>
internal static class AnalyzeCommand
{
    public const string Usage = """
        usage: canary analyze --config FILE --prometheus URL --control SELECTOR --experiment SELECTOR
                              --start T [--end T] [--step 30s] [--interval 1m] [--var key=value]...
                              [--gate] [--dry-run] [--format json|table] [--queries DIR]
                              [--timeout 30s] [--retries N] [--concurrency N] [--header 'Name: value']...
                              [--bearer-token-file FILE | --username USER --password-file FILE] [--ca-file FILE]
          SELECTOR  label matchers for one cohort, as PromQL: version="v1" or pod=~"checkout-primary-.*"
          T         RFC 3339, unix seconds, now, or now-30m (--end defaults to now)
        """;

    private static readonly HashSet<string> Flags = ["--gate", "--dry-run", "--help"];

    private static readonly HashSet<string> ValueOptions =
    [
        "--config", "--prometheus", "--control", "--experiment", "--start", "--end", "--step", "--interval", "--var", "--format", "--queries",
        "--timeout", "--retries", "--concurrency", "--header", "--bearer-token-file", "--username", "--password-file", "--ca-file",
    ];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, TextWriter stderr, TimeProvider time, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("analyze", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        if (line.Positional.Count > 0)
        {
            throw new InputException($"{line.Positional[0]}: unexpected argument; the config is given with --config FILE");
        }

        var format = VerdictOutput.ParseFormat(line.Option("--format"));
        var settings = Settings.Load();
        var problems = new List<string>();
        string Required(string flag)
        {
            var value = line.Option(flag);
            if (string.IsNullOrWhiteSpace(value))
            {
                problems.Add($"{flag}: is required; see canary analyze --help");
            }

            return value ?? string.Empty;
        }

        var configFile = Required("--config");
        var control = Required("--control");
        var experiment = Required("--experiment");
        var startText = Required("--start");
        if (problems.Count > 0)
        {
            throw new InputException(problems);
        }

        var variables = ParseVariables(line.Options("--var"));
        var config = CanaryConfigReader.Load(configFile, Settings.Templates(settings, line.Option("--queries")), variables);
        foreach (var warning in config.Warnings)
        {
            await stderr.WriteLineAsync($"canary analyze: warning: {config.Source}: {warning}");
        }

        var start = TimeArguments.ParseTime("--start", startText, time);
        var end = TimeArguments.ParseTime("--end", line.Option("--end") ?? "now", time);
        var stepText = line.Option("--step") ?? config.Step;
        var step = TimeArguments.ParseDuration("--step", stepText);
        var interval = line.Option("--interval") ?? config.Interval;
        TimeArguments.ParseDuration("--interval", interval);
        var window = new AnalysisWindow(start, end, step);
        if (end <= start)
        {
            throw new InputException($"--end: {end:O} is not after --start {start:O}");
        }

        if (window.Steps > AnalysisWindow.MaxSteps)
        {
            throw new InputException($"--step: {stepText} gives {window.Steps} steps over the window; Prometheus allows {AnalysisWindow.MaxSteps}: use a larger step or a shorter window");
        }

        var queries = MetricAnalysis.Render(config, new Cohorts(control, experiment), interval, IntervalWindow.Steps(start, end, step).Range);
        if (line.Has("--dry-run"))
        {
            await WriteQueriesAsync(format, config, queries, stdout);
            return ExitCodes.Done;
        }

        var options = PrometheusOptions(settings, line);
        using var client = new PrometheusClient(options, time);
        AnalysisResult analysis;
        try
        {
            analysis = await MetricAnalysis.RunAsync(new PrometheusMetricSource(client), config, queries, window, interval, options.Concurrency, cancellationToken);
        }
        catch (SeriesShapeException e)
        {
            throw new InputException($"{config.Source}: {e.Message}");
        }

        foreach (var warning in analysis.Warnings)
        {
            await stderr.WriteLineAsync(analysis.Repairs.Contains(warning) ? $"canary analyze: warning: {warning}" : $"canary analyze: warning from Prometheus: {warning}");
        }

        if (format == VerdictFormat.Table)
        {
            JudgeTableWriter.Write(stdout, analysis.Judgement);
        }
        else
        {
            await stdout.WriteLineAsync(analysis.ToJson(withSeries: false));
        }

        return line.Has("--gate") && analysis.Judgement.Classification != AnalysisClassification.Pass ? ExitCodes.GateFailed : ExitCodes.Done;
    }

    /// <summary>--var key=value pairs; a key given twice keeps the last value.</summary>
    public static Dictionary<string, string> ParseVariables(IReadOnlyList<string> pairs)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new InputException($"--var: \"{pair}\" is not key=value");
            }

            variables[pair[..equals]] = pair[(equals + 1)..];
        }

        return variables;
    }


    private static PrometheusOptions PrometheusOptions(Microsoft.Extensions.Configuration.IConfiguration settings, CommandLine line)
    {
        var options = Settings.Prometheus(settings, line.Option("--prometheus"));

        if (line.Option("--timeout") is { } timeout)
        {
            options.Timeout = TimeArguments.ParseDuration("--timeout", timeout);
        }

        options.Retries = Integer(line, "--retries", options.Retries);
        options.Concurrency = Integer(line, "--concurrency", options.Concurrency);
        foreach (var header in line.Options("--header"))
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                // The text is not echoed: a mistyped header often carries a secret.
                throw new InputException("--header: give 'Name: value' (a name, a colon, the value)");
            }

            options.Headers[header[..colon]] = header[(colon + 1)..].Trim();
        }

        options.BearerTokenFile = line.Option("--bearer-token-file") ?? options.BearerTokenFile;
        options.Username = line.Option("--username") ?? options.Username;
        options.PasswordFile = line.Option("--password-file") ?? options.PasswordFile;
        options.CaFile = line.Option("--ca-file") ?? options.CaFile;
        var problems = options.Validate();
        return problems.Count == 0 ? options : throw new InputException(problems);
    }

    private static int Integer(CommandLine line, string flag, int fallback) =>
        line.Option(flag) is not { } text ? fallback
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
        : throw new InputException($"{flag}: \"{text}\" is not a whole number");

    private static async Task WriteQueriesAsync(VerdictFormat format, CanaryConfig config, IReadOnlyDictionary<string, RenderedQuery> queries, TextWriter stdout)
    {
        if (format == VerdictFormat.Table)
        {
            foreach (var metric in config.Metrics)
            {
                await stdout.WriteLineAsync($"{metric.Name} (control):    {Flatten(queries[metric.Name].Control)}");
                await stdout.WriteLineAsync($"{metric.Name} (experiment): {Flatten(queries[metric.Name].Experiment)}");
            }

            return;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            AnalysisDocument.WriteQueries(writer, config, queries);
            writer.WriteEndObject();
        }

        await stdout.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static string Flatten(string query) => string.Join(' ', query.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
}
