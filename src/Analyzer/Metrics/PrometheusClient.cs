using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Canary.Analyzer.Metrics;

/// <summary>One series of a query's result: its labels and its samples (unix seconds, value).</summary>
internal sealed record PrometheusSeries(IReadOnlyDictionary<string, string> Labels, double[] Timestamps, double[] Values);

/// <summary>A successful answer: "matrix", "vector" or "scalar", its series, and Prometheus's warnings.</summary>
internal sealed record PrometheusResult(string ResultType, IReadOnlyList<PrometheusSeries> Series, IReadOnlyList<string> Warnings);

/// <summary>
/// A thin typed client for the Prometheus HTTP API (/api/v1/query_range, /api/v1/query), POSTing
/// form-encoded queries. Connection errors, timeouts and 5xx answers are retried a bounded number of
/// times with exponential backoff; 4xx answers (a query Prometheus rejects) are not. A failure is a
/// <see cref="MetricsSourceException"/> carrying Prometheus's own errorType and error, and the query.
/// </summary>
internal sealed partial class PrometheusClient : IDisposable
{
    private readonly HttpClient http;
    private readonly PrometheusOptions options;
    private readonly TimeProvider time;
    private readonly Uri baseUrl;

    // Retry jitter of this client (so replicas do not retry in step); guarded: the client is shared by concurrent queries.
    private readonly Random jitter = new();
    private readonly Lock jitterGate = new();

    public PrometheusClient(PrometheusOptions options, TimeProvider time, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        this.time = time ?? TimeProvider.System;
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(options));
        }

        var url = options.Url!.AbsoluteUri;
        baseUrl = new Uri(url.EndsWith('/') ? url : url + "/");
        http = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public Uri BaseUrl => baseUrl;

    /// <summary>A range query: one sample per step from start to end (both inclusive).</summary>
    public Task<PrometheusResult> QueryRangeAsync(string query, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return SendAsync("api/v1/query_range", query, new Dictionary<string, string>
        {
            ["query"] = query,
            ["start"] = UnixSeconds(start),
            ["end"] = UnixSeconds(end),
            ["step"] = step.TotalSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["timeout"] = TimeoutParameter(),
        }, cancellationToken);
    }

    /// <summary>An instant query at one time.</summary>
    public Task<PrometheusResult> QueryAsync(string query, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return SendAsync("api/v1/query", query, new Dictionary<string, string>
        {
            ["query"] = query,
            ["time"] = UnixSeconds(at),
            ["timeout"] = TimeoutParameter(),
        }, cancellationToken);
    }

    public void Dispose() => http.Dispose();

    private async Task<PrometheusResult> SendAsync(string path, string query, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        var url = new Uri(baseUrl, path);
        for (var attempt = 0; ; attempt++)
        {
            var last = attempt >= options.Retries;
            using var timeout = new CancellationTokenSource(options.Timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            string? transient;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
                await AuthorizeAsync(request, linked.Token);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
                var body = await response.Content.ReadAsByteArrayAsync(linked.Token);
                if ((int)response.StatusCode < 500)
                {
                    return Parse(response.StatusCode, body, query, url);
                }

                var (errorType, error) = ErrorFields(body);
                transient = $"Prometheus answered {(int)response.StatusCode} {response.ReasonPhrase}{(error is null ? string.Empty : $": {error}")}";
                if (last)
                {
                    throw new MetricsSourceException(transient + Attempts(attempt), query, errorType);
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                transient = $"Prometheus at {baseUrl} did not answer within {options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
                if (last)
                {
                    throw new MetricsSourceException(transient + Attempts(attempt), query, "timeout");
                }
            }
            catch (HttpRequestException e)
            {
                transient = $"cannot reach Prometheus at {baseUrl}: {Innermost(e)}";
                if (last)
                {
                    throw new MetricsSourceException(transient + Attempts(attempt), query, "unavailable");
                }
            }

            double spread;
            lock (jitterGate)
            {
                spread = jitter.NextDouble();
            }

            var delay = options.RetryDelay * Math.Pow(2, attempt) * (0.8 + (0.4 * spread));
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        foreach (var (name, value) in options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (options.BearerToken is not null || options.BearerTokenFile is not null)
        {
            var token = options.BearerTokenFile is null ? options.BearerToken! : (await ReadSecretAsync("--bearer-token-file", options.BearerTokenFile, cancellationToken)).Trim();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (options.Username is not null)
        {
            var password = options.PasswordFile is null ? options.Password ?? string.Empty : (await ReadSecretAsync("--password-file", options.PasswordFile, cancellationToken)).TrimEnd('\r', '\n');
            var pair = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{password}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", pair);
        }
    }

    /// <summary>A secret file, read at each request so that rotation needs no restart; a file that cannot be read is bad input, never a request without credentials.</summary>
    private static async Task<string> ReadSecretAsync(string setting, string file, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(file, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Documents.InputException($"{setting}: {file}: cannot read: {(e is FileNotFoundException ? "no such file" : e.Message)}");
        }
    }

    private static string Attempts(int retries) => retries == 0 ? string.Empty : $" (after {retries + 1} attempts)";

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static string UnixSeconds(DateTimeOffset at) => (at.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    private string TimeoutParameter() => $"{Math.Max(1, (int)options.Timeout.TotalSeconds)}s";

    private static SocketsHttpHandler CreateHandler(PrometheusOptions options)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = options.Timeout, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (options.CaFile is { } caFile)
        {
            var authorities = PrometheusOptions.LoadAuthorities(caFile);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, serverChain, errors) =>
                {
                    if (errors == SslPolicyErrors.None)
                    {
                        return true;
                    }

                    if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    // Intermediates the server sent (the platform's chain holds them) count; the CA file may hold only the root.
                    if (serverChain is not null)
                    {
                        foreach (var element in serverChain.ChainElements)
                        {
                            chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                        }
                    }

                    return chain.Build(new X509Certificate2(certificate));
                },
            };
        }

        return handler;
    }
}

/// <summary>
/// The metrics source failed: unreachable, timed out, or it rejected a query. Message is what
/// Prometheus said (or what went wrong on the way), Query the PromQL that was sent. Exit status 3.
/// </summary>
internal sealed class MetricsSourceException : Documents.ExternalFaultException
{
    public MetricsSourceException(string message, string query, string? errorType)
        : base(message)
    {
        Query = query;
        ErrorType = errorType;
    }

    public MetricsSourceException()
        : this("the metrics source failed", string.Empty, null)
    {
    }

    public MetricsSourceException(string message)
        : this(message, string.Empty, null)
    {
    }

    public MetricsSourceException(string message, Exception innerException)
        : base(message, innerException) => Query = string.Empty;

    public string Query { get; }

    public string? ErrorType { get; }
}
