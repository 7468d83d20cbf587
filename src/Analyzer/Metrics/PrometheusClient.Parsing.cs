using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Canary.Analyzer.Metrics;

/// <summary>Reading the Prometheus API's answers: data, values as Prometheus writes them, errors.</summary>
internal sealed partial class PrometheusClient
{
    /// <summary>Reads an answer below 500: success data, or Prometheus's error, which is surfaced verbatim.</summary>
    internal static PrometheusResult Parse(HttpStatusCode status, byte[] body, string query, Uri url)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            var start = Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200))).ReplaceLineEndings(" ").Trim();
            var hint = status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? " (check the bearer token or basic auth settings)" : status == HttpStatusCode.NotFound ? " (is the URL Prometheus's base URL?)" : string.Empty;
            throw new MetricsSourceException($"{url} answered {(int)status} {status} with a body that is not the Prometheus API's JSON{hint}: \"{start}\"", query, null);
        }

        using (document)
        {
            var root = document.RootElement;
            var warnings = root.TryGetProperty("warnings", out var w) && w.ValueKind == JsonValueKind.Array
                ? w.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList()
                : [];
            if (Text(root, "status") != "success")
            {
                var errorType = Text(root, "errorType");
                var error = Text(root, "error") ?? $"HTTP {(int)status} {status}";
                throw new MetricsSourceException($"Prometheus rejected the query{(errorType is null ? string.Empty : $" ({errorType})")}: {error}", query, errorType);
            }

            if (!root.TryGetProperty("data", out var data) || Text(data, "resultType") is not { } resultType || !data.TryGetProperty("result", out var result))
            {
                throw new MetricsSourceException($"{url} answered success without data.resultType and data.result", query, null);
            }

            try
            {
                var series = resultType switch
                {
                    "matrix" => result.EnumerateArray().Select(s => Samples(Labels(s), s.GetProperty("values"))).ToList(),
                    "vector" => result.EnumerateArray().Select(s => Single(Labels(s), s.GetProperty("value"))).ToList(),
                    "scalar" => [Single(new Dictionary<string, string>(), result)],
                    _ => throw new MetricsSourceException($"the query gives a {resultType}, not numbers; it must select samples", query, null),
                };
                return new PrometheusResult(resultType, series, warnings);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or IndexOutOfRangeException or OverflowException)
            {
                throw new MetricsSourceException($"{url} answered a {resultType} that does not follow the Prometheus API: {e.Message}", query, null);
            }
        }
    }

    private static PrometheusSeries Single(IReadOnlyDictionary<string, string> labels, JsonElement pair) =>
        new(labels, [pair[0].GetDouble()], [Value(pair[1].GetString())]);

    private static PrometheusSeries Samples(Dictionary<string, string> labels, JsonElement values)
    {
        var count = values.GetArrayLength();
        var timestamps = new double[count];
        var samples = new double[count];
        var i = 0;
        foreach (var pair in values.EnumerateArray())
        {
            timestamps[i] = pair[0].GetDouble();
            samples[i++] = Value(pair[1].GetString());
        }

        return new PrometheusSeries(labels, timestamps, samples);
    }

    private static Dictionary<string, string> Labels(JsonElement series)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (series.TryGetProperty("metric", out var metric))
        {
            foreach (var label in metric.EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? string.Empty;
            }
        }

        return labels;
    }

    /// <summary>A sample value as Prometheus writes it: a decimal string, "NaN", "+Inf" or "-Inf".</summary>
    internal static double Value(string? text) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        null => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>errorType and error of an API error body, when the body is the API's JSON.</summary>
    private static (string? Type, string? Error) ErrorFields(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return (Text(document.RootElement, "errorType"), Text(document.RootElement, "error"));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }
}
