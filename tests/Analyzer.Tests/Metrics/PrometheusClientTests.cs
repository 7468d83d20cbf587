using System.Text;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Metrics;

/// <summary>The typed HTTP client against the real Prometheus, with a fault-injecting proxy in between where a test needs faults.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class PrometheusClientTests(PrometheusFixture prometheus)
{
    private const string PrometheusError = """{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:8: parse error: unexpected <by>"}""";

    [Theory]
    [InlineData("0/0", double.NaN)]
    [InlineData("1/0", double.PositiveInfinity)]
    [InlineData("-1/0", double.NegativeInfinity)]
    [InlineData("0.1 + 0.2", 0.30000000000000004)]
    public async Task Values_are_read_as_Prometheus_writes_them_even_NaN_or_infinities(string query, double expected)
    {
        using var client = Client(prometheus.Url);
        var range = await client.QueryRangeAsync(query, SyntheticHistory.WindowStart, SyntheticHistory.WindowStart.AddMinutes(1), TimeSpan.FromSeconds(30));
        Assert.Equal("matrix", range.ResultType);
        Assert.Equal([expected, expected, expected], Assert.Single(range.Series).Values);
        Assert.Equal(SyntheticHistory.WindowStart.ToUnixTimeSeconds(), range.Series[0].Timestamps[0]);

        var instant = await client.QueryAsync(query, SyntheticHistory.WindowStart);
        Assert.Equal("scalar", instant.ResultType);
        Assert.Equal(expected, Assert.Single(instant.Series).Values[0]);
    }

    [Fact]
    public async Task Vectors_keep_their_labels()
    {
        using var client = Client(prometheus.Url);
        var result = await client.QueryAsync("sum by (code) (http_requests_total{namespace=\"errors\"})", SyntheticHistory.WindowEnd);
        Assert.Equal("vector", result.ResultType);
        Assert.Equal(["200", "500"], result.Series.Select(s => s.Labels["code"]).Order());
        Assert.All(result.Series, s => Assert.True(s.Values[0] > 0));
    }

    [Fact]
    public async Task Queries_are_POSTed_form_encoded()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        using var client = Client(proxy.Url);
        const string query = "sum(rate(http_requests_total{namespace=\"a&b=c\"}[1m]))";
        await client.QueryRangeAsync(query, SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
        var request = Assert.Single(proxy.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/api/v1/query_range", request.Path);
        Assert.Equal(query, request.Form["query"]);
        Assert.Equal(SyntheticHistory.WindowStart.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), request.Form["start"]);
        Assert.Equal("30", request.Form["step"]);
    }

    [Fact]
    public async Task Server_errors_or_dropped_connections_are_retried_until_they_succeed()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        proxy.Inject(new Fault.Status(503, """{"status":"error","errorType":"unavailable","error":"busy"}"""), new Fault.Drop(), new Fault.Status(500));
        using var client = Client(proxy.Url, retries: 3);
        var result = await client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd);
        Assert.Equal(1, Assert.Single(result.Series).Values[0]);
        Assert.Equal(4, proxy.Requests.Count);
    }

    [Fact]
    public async Task Retries_are_bounded()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        InjectFourUnavailable(proxy);
        using var client = Client(proxy.Url, retries: 2);
        await Assert.ThrowsAsync<MetricsSourceException>(() => client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd));
        Assert.Equal(3, proxy.Requests.Count);
    }

    [Fact]
    public async Task When_the_retries_run_out_the_last_answer_is_reported_with_the_query()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        InjectFourUnavailable(proxy);
        using var client = Client(proxy.Url, retries: 2);
        var e = await Assert.ThrowsAsync<MetricsSourceException>(() => client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd));
        Assert.Equal("Prometheus answered 503 Service Unavailable: too many queries (after 3 attempts)", e.Message);
        Assert.Equal("vector(1)", e.Query);
    }

    [Fact]
    public async Task A_rejected_query_is_never_retried()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        proxy.Inject(new Fault.Status(400, PrometheusError));
        using var client = Client(proxy.Url, retries: 3);
        await Assert.ThrowsAsync<MetricsSourceException>(() => client.QueryAsync("sum by", SyntheticHistory.WindowEnd));
        Assert.Single(proxy.Requests);
    }

    [Fact]
    public async Task A_rejected_query_keeps_Prometheus_words()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        proxy.Inject(new Fault.Status(400, PrometheusError));
        using var client = Client(proxy.Url, retries: 3);
        var e = await Assert.ThrowsAsync<MetricsSourceException>(() => client.QueryAsync("sum by", SyntheticHistory.WindowEnd));
        Assert.Equal("Prometheus rejected the query (bad_data): invalid parameter \"query\": 1:8: parse error: unexpected <by>", e.Message);
        Assert.Equal("bad_data", e.ErrorType);
    }

    [Fact]
    public async Task A_slow_answer_times_out()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        proxy.Inject(new Fault.Delay(TimeSpan.FromSeconds(20)));
        using var client = new PrometheusClient(new PrometheusOptions { Url = proxy.Url, Timeout = TimeSpan.FromMilliseconds(300), Retries = 0 }, TimeProvider.System);
        var e = await Assert.ThrowsAsync<MetricsSourceException>(() => client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd));
        Assert.Equal("timeout", e.ErrorType);
        Assert.StartsWith($"Prometheus at {proxy.Url} did not answer within 0.3 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warnings_are_passed_on()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        proxy.Inject(new Fault.Status(200, """{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["partial response: store 2 down"]}"""));
        using var client = Client(proxy.Url);
        var result = await client.QueryAsync("up", SyntheticHistory.WindowEnd);
        Assert.Empty(result.Series);
        Assert.Equal(["partial response: store 2 down"], result.Warnings);
    }

    [Fact]
    public async Task Warnings_of_a_partial_answer_are_kept_in_the_analysis_output()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        proxy.Inject(new Fault.Status(200, """{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["partial response: store 2 down"]}"""));
        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", CanaryRunner.Example("../canary/http.yaml"), "--prometheus", proxy.Url.ToString(), "--var", "namespace=healthy",
            "--control", "version=\"v1\"", "--experiment", "version=\"v2\"", "--start", "2026-11-02T10:30:00Z", "--end", "2026-11-02T11:00:00Z", "--concurrency", "1");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["canary analyze: warning from Prometheus: partial response: store 2 down"], run.ErrorLines);
        using var output = System.Text.Json.JsonDocument.Parse(run.Stdout);
        Assert.Equal("partial response: store 2 down", Assert.Single(output.RootElement.GetProperty("warnings").EnumerateArray()).GetString());
        Assert.Empty(Support.Schemas.Problems(Support.Schemas.JudgeOutput, run.Stdout));
    }

    [Fact]
    public async Task Bearer_tokens_are_read_from_their_file_at_each_request()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        var tokenFile = CanaryRunner.TempFile("token", "first-token\n");
        using var client = new PrometheusClient(new PrometheusOptions { Url = proxy.Url, BearerTokenFile = tokenFile }, TimeProvider.System);
        await client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd);
        await File.WriteAllTextAsync(tokenFile, "rotated-token");
        await client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd);
        Assert.Equal(["Bearer first-token", "Bearer rotated-token"], proxy.Requests.Select(r => r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Custom_headers_are_sent_with_each_request()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        var options = new PrometheusOptions { Url = proxy.Url, BearerTokenFile = CanaryRunner.TempFile("token", "first-token\n") };
        options.Headers["X-Scope-OrgID"] = "team-a";
        using var client = new PrometheusClient(options, TimeProvider.System);
        await client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd);
        await client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd);
        Assert.All(proxy.Requests, r => Assert.Equal("team-a", r.Headers["X-Scope-OrgID"]));
    }

    [Fact]
    public async Task Https_with_a_private_CA_plus_basic_auth_reaches_a_Prometheus_that_requires_both()
    {
        var (secure, options, _) = await StartSecurePrometheusAsync();
        await using (secure)
        {
            using var client = new PrometheusClient(options, TimeProvider.System);
            Assert.Equal(1, Assert.Single((await client.QueryAsync("vector(1)", SyntheticHistory.WindowEnd)).Series).Values[0]);
        }
    }

    [Fact]
    public async Task Without_its_private_CA_a_Prometheus_on_https_is_not_reached()
    {
        var (secure, _, passwordFile) = await StartSecurePrometheusAsync();
        await using (secure)
        {
            using var untrusting = new PrometheusClient(new PrometheusOptions { Url = secure.Url, Username = "canary", PasswordFile = passwordFile, Retries = 0 }, TimeProvider.System);
            var e = await Assert.ThrowsAsync<MetricsSourceException>(() => untrusting.QueryAsync("vector(1)", SyntheticHistory.WindowEnd));
            Assert.StartsWith($"cannot reach Prometheus at {secure.Url}", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_password_is_a_401_pointing_at_the_credentials()
    {
        var (secure, options, passwordFile) = await StartSecurePrometheusAsync();
        await using (secure)
        {
            await File.WriteAllTextAsync(passwordFile, "wrong");
            using var wrongPassword = new PrometheusClient(options, TimeProvider.System);
            var e = await Assert.ThrowsAsync<MetricsSourceException>(() => wrongPassword.QueryAsync("vector(1)", SyntheticHistory.WindowEnd));
            Assert.Contains("answered 401 Unauthorized", e.Message, StringComparison.Ordinal);
            Assert.Contains("check the bearer token or basic auth settings", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_analysis_keeps_to_its_concurrency_limit()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        // Each request waits until three are in flight: a limit above 3 would show more at once, one below would never open the gate.
        proxy.Inject([.. Enumerable.Repeat<Fault>(new Fault.Gate(3, TimeSpan.FromSeconds(5)), 12)]);
        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", CanaryRunner.Example("../canary/http.yaml"), "--prometheus", proxy.Url.ToString(), "--var", "namespace=errors",
            "--control", "version=\"v1\"", "--experiment", "version=\"v2\"", "--start", "2026-11-02T10:30:00Z", "--end", "2026-11-02T11:00:00Z", "--concurrency", "3");
        Assert.Equal(0, run.ExitCode);
        // Three sampled metrics (two queries each), then the sequential ones: errors (events and exposure per cohort) and latency (one per cohort).
        Assert.Equal(12, proxy.Requests.Count);
        Assert.Equal(3, proxy.MaxInFlight);
    }

    /// <summary>Four 503s, the third of them with Prometheus's own error.</summary>
    private static void InjectFourUnavailable(FaultProxy proxy) =>
        proxy.Inject(new Fault.Status(503), new Fault.Status(503), new Fault.Status(503, """{"status":"error","errorType":"unavailable","error":"too many queries"}"""), new Fault.Status(503));

    /// <summary>
    /// A spare Prometheus on https with a private CA's certificate that requires basic auth, and the options that reach it (the
    /// password in a file).
    /// </summary>
    private async Task<(PrometheusServer Secure, PrometheusOptions Options, string PasswordFile)> StartSecurePrometheusAsync()
    {
        var folder = prometheus.SpareFolder();
        var certificates = TestCertificates.Create(folder);
        // bcrypt of "canary-test-password", made with `htpasswd -nbBC 10 canary canary-test-password` (Debian apache2-utils).
        var webConfig = $"""
            tls_server_config:
              cert_file: {certificates.CertificateFile}
              key_file: {certificates.KeyFile}
            basic_auth_users:
              canary: $2y$10$u1XzJQwBqboSiii46IDlYuQgaacTWXZFkPaceTjZvP3UVgpZoibYq
            """;
        var passwordFile = Path.Combine(folder, "password");
        await File.WriteAllTextAsync(passwordFile, "canary-test-password\n");
        using var probeClient = ProbeClient(certificates);
        var secure = await prometheus.StartSpareAsync(webConfig, probeClient, tls: true);
        return (secure, new PrometheusOptions { Url = secure.Url, CaFile = certificates.AuthorityFile, Username = "canary", PasswordFile = passwordFile }, passwordFile);
    }

    private static PrometheusClient Client(Uri url, int retries = 0) =>
        new(new PrometheusOptions { Url = url, Retries = retries, RetryDelay = TimeSpan.FromMilliseconds(20) }, TimeProvider.System);

    private static HttpClient ProbeClient(TestCertificates certificates)
    {
        var authorities = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        authorities.ImportFromPemFile(certificates.AuthorityFile);
        var authority = authorities[0];
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, chain, _) =>
            {
                chain!.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                return chain.Build(certificate!);
            },
        };
        var probe = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        probe.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("canary:canary-test-password")));
        return probe;
    }
}
