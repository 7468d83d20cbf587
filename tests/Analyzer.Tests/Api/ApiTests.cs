using System.Net;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>
/// The HTTP API over real HTTP against `canary serve` (SQLite store, the Kubernetes emulator and the
/// shared real Prometheus with its synthetic history): every endpoint and its error paths.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class ApiTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private static readonly string Window = $"\"start\": \"2026-11-02T10:30:00Z\", \"end\": \"{SyntheticHistory.WindowEnd:yyyy-MM-ddTHH:mm:ssZ}\"";
    private ServeHost serve = null!;

    public async Task InitializeAsync() => serve = await ServeHost.StartAsync(prometheus.Url);

    public async Task DisposeAsync() => await serve.DisposeAsync();

    [Fact]
    public async Task Judge_answers_what_canary_judge_answers()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var input = await File.ReadAllTextAsync(CanaryRunner.Example("checkout.json"));
        using var answer = await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), ServeHost.Json(input));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var cli = await CanaryRunner.RunAsync("judge", CanaryRunner.Example("checkout.json"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(cli.Stdout), await ServeHost.ReadJsonAsync(answer)));
    }

    [Fact]
    public async Task Bad_judge_documents_are_problems_naming_the_field()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var input = await File.ReadAllTextAsync(CanaryRunner.Example("checkout.json"));
        var malformed = await ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), ServeHost.Json("{\"config\": {\n  \"metrics\": [}")), HttpStatusCode.BadRequest);
        Assert.Equal(2, malformed["errors"]![0]!["line"]!.GetValue<int>());

        var badValue = await ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative),
            ServeHost.Json(input.Replace("\"direction\": \"increase\"", "\"direction\": \"up\"", StringComparison.Ordinal))), HttpStatusCode.BadRequest);
        var error = badValue["errors"]!.AsArray().First()!;
        Assert.Matches(@"^config\.metrics\[\d+\]\.direction$", error["field"]!.GetValue<string>());
        Assert.Contains("\"up\" is not one of increase, decrease, either", error["reason"]!.GetValue<string>(), StringComparison.Ordinal);

        var huge = await ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), ServeHost.Json(new string(' ', 300_000) + input)), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("body", huge["errors"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task No_token_a_bad_token_or_a_low_role_is_refused()
    {
        using var nobody = serve.Client(null);
        using var missing = await nobody.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), ServeHost.Json("{}"));
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("no bearer token", (await ProblemAsync(missing, HttpStatusCode.Unauthorized))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await ProblemAsync(await nobody.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative)), HttpStatusCode.Unauthorized);

        using var stranger = serve.Client("not-a-token-9d8c7b");
        Assert.Contains("the token is not known", (await ProblemAsync(await stranger.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative)), HttpStatusCode.Unauthorized))["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var viewer = serve.Client(ServeHost.ViewerToken);
        var forbidden = await ProblemAsync(await viewer.PutAsync(new Uri("/api/v1/configs/checkout", UriKind.Relative), ServeHost.Json("{}")), HttpStatusCode.Forbidden);
        Assert.Contains("needs the admin role; the token \"ci-viewer\" has viewer", forbidden["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/rollouts/shop/checkout/approve", UriKind.Relative), null), HttpStatusCode.Forbidden);

        // The operator's token comes from a mounted file; it may operate but not manage configs.
        using var @operator = serve.Client(ServeHost.OperatorToken);
        await ProblemAsync(await @operator.DeleteAsync(new Uri("/api/v1/configs/checkout", UriKind.Relative)), HttpStatusCode.Forbidden);
        await ProblemAsync(await @operator.PostAsync(new Uri("/api/v1/rollouts/shop/nothing/approve", UriKind.Relative), null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Refusals_are_logged_without_the_token()
    {
        using var stranger = serve.Client("not-a-token-9d8c7b");
        await ProblemAsync(await stranger.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative)), HttpStatusCode.Unauthorized);
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await ProblemAsync(await viewer.PutAsync(new Uri("/api/v1/configs/checkout", UriKind.Relative), ServeHost.Json("{}")), HttpStatusCode.Forbidden);
        using var @operator = serve.Client(ServeHost.OperatorToken);
        await ProblemAsync(await @operator.DeleteAsync(new Uri("/api/v1/configs/checkout", UriKind.Relative)), HttpStatusCode.Forbidden);

        await Poll.UntilAsync(() => serve.Output.Contains("API: 403 for PUT /api/v1/configs/checkout (caller ci-viewer): role Viewer is below Admin", StringComparison.Ordinal), "the refusals to be logged");
        Assert.Contains("API: 401 for GET /api/v1/rollouts (caller -): the token is not known", serve.Output, StringComparison.Ordinal);
        foreach (var secret in new[] { ServeHost.ViewerToken, ServeHost.OperatorToken, ServeHost.AdminToken, "not-a-token-9d8c7b" })
        {
            Assert.DoesNotContain(secret, serve.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Admins_manage_named_configs_that_are_checked_before_they_are_kept()
    {
        using var admin = serve.Client(ServeHost.AdminToken);
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "canary", "http.yaml"));
        using var created = await admin.PutAsync(new Uri("/api/v1/configs/http-checkout", UriKind.Relative), new StringContent(yaml, System.Text.Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/v1/configs/http-checkout", created.Headers.Location!.OriginalString);
        using var replaced = await admin.PutAsync(new Uri("/api/v1/configs/http-checkout", UriKind.Relative), new StringContent(yaml, System.Text.Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);

        using var viewer = serve.Client(ServeHost.ViewerToken);
        Assert.Equal(yaml, await viewer.GetStringAsync(new Uri("/api/v1/configs/http-checkout", UriKind.Relative)));
        Assert.Contains("http-checkout", (await viewer.GetStringAsync(new Uri("/api/v1/configs", UriKind.Relative))), StringComparison.Ordinal);

        var invalid = await ProblemAsync(await admin.PutAsync(new Uri("/api/v1/configs/broken", UriKind.Relative),
            new StringContent(yaml.Replace("template: http-errors", "template: nope", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/yaml")), HttpStatusCode.BadRequest);
        Assert.Equal("body.metrics[0].template", invalid["errors"]![0]!["field"]!.GetValue<string>());
        await ProblemAsync(await viewer.GetAsync(new Uri("/api/v1/configs/broken", UriKind.Relative)), HttpStatusCode.NotFound);
        await ProblemAsync(await admin.PutAsync(new Uri("/api/v1/configs/Bad_Name", UriKind.Relative), new StringContent(yaml)), HttpStatusCode.BadRequest);

        using var deleted = await admin.DeleteAsync(new Uri("/api/v1/configs/http-checkout", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await ProblemAsync(await admin.DeleteAsync(new Uri("/api/v1/configs/http-checkout", UriKind.Relative)), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_analysis_by_config_name_runs_in_the_background_kept_with_its_queries()
    {
        using var viewer = await ViewerWithTheHttpConfigAsync();
        var healthy = await RunAsync(viewer, $$"""{"service": "checkout-healthy", "configName": "http", "variables": {"namespace": "healthy"}, {{Cohorts}}, {{Window}}}""");
        Assert.Equal(("Succeeded", "Pass"), (healthy["status"]!.GetValue<string>(), healthy["verdict"]!.GetValue<string>()));
        var judgement = healthy["result"]!["judgements"]![0]!;
        Assert.Contains("namespace=\"healthy\"", judgement["queries"]!["errors"]!["control"]!.GetValue<string>(), StringComparison.Ordinal);
        // 30 minutes at the config's step of 1m: 30 count intervals of the sequential metric, 31 samples of a sampled one.
        Assert.Equal(30, judgement["series"]!["errors"]!["control"]!["exposure"]!.AsArray().Count);
        Assert.Equal(31, judgement["series"]!["cpu"]!["control"]!.AsArray().Count);
        Assert.Equal("ci-viewer", healthy["requestedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_interval_judges_a_window_growing_by_it_from_the_start()
    {
        // Kayenta's multi-interval form: a judgement every 10 minutes over a growing window.
        using var viewer = await ViewerWithTheHttpConfigAsync();
        var growing = await RunAsync(viewer, $$"""{"service": "checkout-healthy", "configName": "http", "variables": {"namespace": "healthy"}, {{Cohorts}}, {{Window}}, "interval": "10m"}""");
        var windows = growing["result"]!["judgements"]!.AsArray().Select(j => (j!["window"]!["start"]!.GetValue<string>(), j["window"]!["end"]!.GetValue<string>())).ToList();
        Assert.Equal([("2026-11-02T10:30:00Z", "2026-11-02T10:40:00Z"), ("2026-11-02T10:30:00Z", "2026-11-02T10:50:00Z"), ("2026-11-02T10:30:00Z", "2026-11-02T11:00:00Z")], windows);
    }

    [Fact]
    public async Task A_sliding_window_judges_only_the_last_interval()
    {
        using var viewer = await ViewerWithTheHttpConfigAsync();
        var sliding = await RunAsync(viewer, $$"""{"service": "checkout-healthy", "configName": "http", "variables": {"namespace": "healthy"}, {{Cohorts}}, {{Window}}, "interval": "10m", "window": "sliding"}""");
        Assert.Equal("2026-11-02T10:50:00Z", sliding["result"]!["judgements"]![2]!["window"]!["start"]!.GetValue<string>());
    }

    [Fact]
    public async Task Fail_fast_stops_at_the_first_judgement_that_is_not_a_pass()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var failFast = await RunAsync(viewer, $$"""{"service": "checkout-errors", "config": {{ConfigJson("errors")}}, {{Cohorts}}, {{Window}}, "interval": "10m", "failFast": true}""");
        Assert.Equal(("Succeeded", "Fail"), (failFast["status"]!.GetValue<string>(), failFast["verdict"]!.GetValue<string>()));
        Assert.Single(failFast["result"]!["judgements"]!.AsArray());
    }

    [Fact]
    public async Task The_history_of_analyses_is_read_by_service_or_verdict_page_by_page()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        for (var i = 0; i < 3; i++)
        {
            await RunAsync(viewer, $$"""{"service": "checkout-healthy", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, {{Window}}}""");
        }

        await RunAsync(viewer, $$"""{"service": "checkout-errors", "config": {{ConfigJson("errors")}}, {{Cohorts}}, {{Window}}}""");

        var page = await ServeHost.ReadJsonAsync(await viewer.GetAsync(new Uri("/api/v1/analyses?service=checkout-healthy&limit=2", UriKind.Relative)));
        Assert.Equal(2, page["items"]!.AsArray().Count);
        var next = page["next"]!.GetValue<string>();
        var rest = await ServeHost.ReadJsonAsync(await viewer.GetAsync(new Uri($"/api/v1/analyses?service=checkout-healthy&limit=2&after={next}", UriKind.Relative)));
        Assert.Single(rest["items"]!.AsArray());
        Assert.Null(rest["next"]);
        var failed = await ServeHost.ReadJsonAsync(await viewer.GetAsync(new Uri("/api/v1/analyses?verdict=fail", UriKind.Relative)));
        Assert.Equal(["checkout-errors"], failed["items"]!.AsArray().Select(i => i!["service"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("/api/v1/analyses?verdict=maybe")]
    [InlineData("/api/v1/analyses?after=nonsense")]
    public async Task A_history_query_canary_cannot_read_is_a_400(string path)
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await ProblemAsync(await viewer.GetAsync(new Uri(path, UriKind.Relative)), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_unknown_analysis_is_a_404()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        await ProblemAsync(await viewer.GetAsync(new Uri($"/api/v1/analyses/{Guid.NewGuid()}", UriKind.Relative)), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Concurrent_analyses_all_finish_with_their_own_results()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var scenarios = new[] { "healthy", "errors", "slow", "healthy", "errors", "slow", "healthy", "errors" };
        var results = await Task.WhenAll(scenarios.Select(ns => RunAsync(viewer, $$"""{"service": "concurrent-{{ns}}", "config": {{ConfigJson(ns)}}, {{Cohorts}}, {{Window}}}""")));
        Assert.Equal(scenarios.Select(ns => ns == "healthy" ? "Pass" : "Fail"), results.Select(r => r["verdict"]!.GetValue<string>()));
        Assert.All(results.Zip(scenarios), pair => Assert.Contains($"namespace=\"{pair.Second}\"", pair.First["result"]!["judgements"]![0]!["queries"]!["error rate"]!["experiment"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_analysis_request_beyond_a_bound_is_refused_naming_the_bound()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        Assert.Contains("start: the window of 30d is longer than the 7d allowed (Api:MaxWindow)",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, "start": "now-30d"}"""), StringComparison.Ordinal);
        Assert.Contains("step: 1s gives 86400 steps in a judgement; Prometheus allows 11000",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, "start": "now-1d", "step": "1s"}"""), StringComparison.Ordinal);
        Assert.Contains("interval: makes 1440 judgements; at most 100 are allowed",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, "start": "now-1d", "interval": "1m"}"""), StringComparison.Ordinal);
        Assert.Contains("end: ends after now + 7d (Api:MaxWindow)",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, "start": "now", "end": "9999-12-31T00:00:00Z"}"""), StringComparison.Ordinal);
        Assert.Contains("lifetime: 365d is longer than the 7d allowed",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, "start": "9999-12-30T00:00:00Z", "lifetime": "1y"}"""), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_problem_of_an_analysis_request_names_its_field()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        Assert.Contains("service: is required", await RefusedAsync(viewer, $$"""{"config": {{ConfigJson("healthy")}}, {{Cohorts}}, {{Window}}}"""), StringComparison.Ordinal);
        Assert.Contains("window: \"diagonal\" is not one of growing, sliding",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, {{Window}}, "window": "diagonal"}"""), StringComparison.Ordinal);
        Assert.Contains("config.metrics[0].template: no template \"nope\"",
            await RefusedAsync(viewer, $$"""{"service": "x", "config": {{ConfigJson("healthy").Replace("http-error-rate", "nope", StringComparison.Ordinal)}}, {{Cohorts}}, {{Window}}}"""), StringComparison.Ordinal);
        Assert.Contains("configName: no config is named \"missing\"", await RefusedAsync(viewer, $$"""{"service": "x", "configName": "missing", {{Cohorts}}, {{Window}}}"""), StringComparison.Ordinal);
        Assert.Contains("colour: unknown field", await RefusedAsync(viewer, $$"""{"service": "x", "colour": "red", "config": {{ConfigJson("healthy")}}, {{Cohorts}}, {{Window}}}"""), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_in_sets_a_strict_http_only_cookie()
    {
        using var browser = serve.BrowserClient();
        using var good = await SignInAsync(browser, "/rollouts/shop/checkout", serve.Url.GetLeftPart(UriPartial.Authority));
        var cookie = good.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Signing_in_redirects_only_to_this_site()
    {
        using var browser = serve.BrowserClient();
        using var good = await SignInAsync(browser, "/rollouts/shop/checkout", serve.Url.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.Redirect, good.StatusCode);
        Assert.Equal("/rollouts/shop/checkout", good.Headers.Location!.OriginalString);
        foreach (var offsite in new[] { "//evil.example/", "/\\evil.example/", "https://evil.example/" })
        {
            using var answer = await SignInAsync(browser, offsite, serve.Url.GetLeftPart(UriPartial.Authority));
            Assert.Equal("/", answer.Headers.Location!.OriginalString);
        }
    }

    [Fact]
    public async Task A_sign_in_from_another_site_is_refused_without_a_cookie()
    {
        using var browser = serve.BrowserClient();
        using var crossSite = await SignInAsync(browser, "/", "https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
        Assert.False(crossSite.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task With_the_cookie_a_mutation_needs_the_pages_request_header_too()
    {
        using var browser = serve.BrowserClient();
        using var good = await SignInAsync(browser, "/", serve.Url.GetLeftPart(UriPartial.Authority));
        var cookie = good.Headers.GetValues("Set-Cookie").Single();

        // With the cookie, a mutation needs the page's X-Canary-Request header too.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/v1/judge", UriKind.Relative)) { Content = ServeHost.Json("{}") };
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var withoutHeader = await browser.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutHeader.StatusCode);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_every_endpoint()
    {
        using var anyone = serve.Client(null);
        var document = JsonNode.Parse(await anyone.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToHashSet();
        foreach (var path in new[] { "/api/v1/judge", "/api/v1/analyses", "/api/v1/analyses/{id}", "/api/v1/rollouts", "/api/v1/rollouts/{ns}/{name}", "/api/v1/rollouts/{ns}/{name}/approve", "/api/v1/configs/{name}" })
        {
            Assert.Contains(path, paths);
        }

        Assert.Equal(["delete", "get", "put"], document["paths"]!["/api/v1/configs/{name}"]!.AsObject().Select(p => p.Key).Order());
    }

    private const string Cohorts = "\"control\": \"pod=~\\\"checkout-primary-.*\\\"\", \"experiment\": \"pod=~\\\"checkout-canary-.*\\\"\"";

    /// <summary>The http example as inline JSON, for one synthetic namespace.</summary>
    private static string ConfigJson(string ns) => """
        {"namespace": "NS", "interval": "1m", "step": "30s",
         "metrics": [{"name": "error rate", "template": "http-error-rate", "critical": true, "mustHaveData": true, "effectSize": {"allowedIncrease": 1.2, "criticalIncrease": 2.0}},
                     {"name": "p50 latency", "template": "http-latency-p50", "effectSize": {"allowedIncrease": 1.1}}]}
        """.Replace("NS", ns, StringComparison.Ordinal);

    /// <summary>Posts an analysis, checks the 202 and its Location, and polls it until it is done.</summary>
    private static async Task<JsonNode> RunAsync(HttpClient client, string body)
    {
        var (done, accepted, location) = await ServeHost.RunAnalysisAsync(client, body);
        Assert.Equal(accepted["location"]!.GetValue<string>(), location.OriginalString);
        return done;
    }

    private static Task<JsonNode> ProblemAsync(HttpResponseMessage answer, HttpStatusCode status) => ServeHost.ProblemAsync(answer, status);

    /// <summary>Posts the sign-in form with the viewer's token, the page to go back to and the Origin header (or none).</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string back, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/signin", UriKind.Relative))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = ServeHost.ViewerToken, ["back"] = back }),
        };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await browser.SendAsync(request);
    }

    /// <summary>Posts an analysis request that must be refused with a 400, and returns its problems as "field: reason; …".</summary>
    private static async Task<string> RefusedAsync(HttpClient client, string body) =>
        string.Join("; ", (await ProblemAsync(await client.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), ServeHost.Json(body)), HttpStatusCode.BadRequest))["errors"]!.AsArray()
            .Select(e => $"{e!["field"]}: {e["reason"]}"));

    /// <summary>Puts examples/canary/http.yaml as the config named http (as an admin) and returns a viewer's client.</summary>
    private async Task<HttpClient> ViewerWithTheHttpConfigAsync()
    {
        using var admin = serve.Client(ServeHost.AdminToken);
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "canary", "http.yaml"));
        (await admin.PutAsync(new Uri("/api/v1/configs/http", UriKind.Relative), new StringContent(yaml))).EnsureSuccessStatusCode();
        return serve.Client(ServeHost.ViewerToken);
    }
}
