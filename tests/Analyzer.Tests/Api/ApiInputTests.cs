using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>Bad and hostile input to `canary serve`'s API: each a 4xx naming the field and where it is, never a 500, and never PromQL of the caller's own.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ApiInputTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private static readonly string Window = $"\"start\": \"2026-11-02T10:30:00Z\", \"end\": \"{SyntheticHistory.WindowEnd:yyyy-MM-ddTHH:mm:ssZ}\"";
    private const string Config = """{"interval": "1m", "step": "30s", "metrics": [{"name": "error rate", "template": "http-error-rate"}]}""";
    private ServeHost serve = null!;

    public async Task InitializeAsync() => serve = await ServeHost.StartAsync(prometheus.Url);

    public async Task DisposeAsync() => await serve.DisposeAsync();

    [Fact]
    public async Task A_byte_that_is_not_UTF_8_inside_a_JSON_string_is_a_400_naming_where_it_is()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var body = "{\"config\": {\n  \"metrics\": [{\"name\": \"p9"u8.ToArray().Concat(new byte[] { 0xC3, 0x28 }).Concat("\"}]}, \"data\": []}"u8.ToArray()).ToArray();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var problem = await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), content), HttpStatusCode.BadRequest);
        var error = problem["errors"]![0]!;
        Assert.Equal(("config.metrics[0].name", 2, 27), (error["field"]!.GetValue<string>(), error["line"]!.GetValue<int>(), error["column"]!.GetValue<int>()));
        Assert.StartsWith("byte 0xC3 at offset 39 is not UTF-8", error["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_with_a_byte_that_is_not_UTF_8_is_refused_not_kept_with_a_replacement()
    {
        using var admin = serve.Client(ServeHost.AdminToken);
        using var content = new ByteArrayContent("metrics:\n  - name: caf"u8.ToArray().Concat(new byte[] { 0xE9 }).Concat("\n    template: http-error-rate\n"u8.ToArray()).ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/yaml");
        var problem = await ServeHost.ProblemAsync(await admin.PutAsync(new Uri("/api/v1/configs/latin1", UriKind.Relative), content), HttpStatusCode.BadRequest);
        Assert.Equal(("body", 2, 14), (problem["errors"]![0]!["field"]!.GetValue<string>(), problem["errors"]![0]!["line"]!.GetValue<int>(), problem["errors"]![0]!["column"]!.GetValue<int>()));
        await ServeHost.ProblemAsync(await admin.GetAsync(new Uri("/api/v1/configs/latin1", UriKind.Relative)), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_syntax_error_names_the_enclosing_field_with_its_position()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var problem = await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), ServeHost.Json("{\"config\": {\n  \"metrics\": [}")), HttpStatusCode.BadRequest);
        var error = problem["errors"]![0]!;
        Assert.Equal(("config.metrics", 2, 15), (error["field"]!.GetValue<string>(), error["line"]!.GetValue<int>(), error["column"]!.GetValue<int>()));
        Assert.Equal("malformed JSON: '}' is an invalid start of a value", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_duplicate_key_names_the_key_as_the_field()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var problem = await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), ServeHost.Json("{\"config\": {\"name\": \"a\", \"name\": \"b\"}}")), HttpStatusCode.BadRequest);
        var error = problem["errors"]![0]!;
        Assert.Equal(("config.name", "duplicate key \"name\"", 26), (error["field"]!.GetValue<string>(), error["reason"]!.GetValue<string>(), error["column"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Now_minus_7d_to_now_is_the_7_days_allowed()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        using var answer = await viewer.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative),
            ServeHost.Json($$"""{"service": "week", "config": {{Config}}, "control": "version=\"v1\"", "experiment": "version=\"v2\"", "start": "now-7d", "end": "now", "step": "5m"}"""));
        Assert.True(answer.StatusCode == HttpStatusCode.Accepted, await answer.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("count(up)*1000", "expected =, !=, =~ or !~ after count at character 6")]
    [InlineData("version=\"v1\"} or vector(1) or up{x=\"y\"", "expected , or the end after the value of version at character 13")]
    [InlineData("version=v2", "the value of version: expected a quoted string at character 9")]
    public async Task A_cohort_that_is_not_label_matchers_is_refused(string cohort, string reason)
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var body = new JsonObject { ["service"] = "x", ["config"] = JsonNode.Parse(Config), ["control"] = "version=\"v1\"", ["experiment"] = cohort, ["start"] = "now-1h" };
        var problem = await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), ServeHost.Json(body.ToJsonString())), HttpStatusCode.BadRequest);
        var error = problem["errors"]![0]!;
        Assert.Equal("experiment", error["field"]!.GetValue<string>());
        Assert.StartsWith(reason, error["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cohort_value_is_escaped_again_so_it_cannot_end_its_string()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var body = new JsonObject
        {
            ["service"] = "escape", ["config"] = JsonNode.Parse(Config), ["variables"] = new JsonObject { ["namespace"] = "healthy" },
            ["control"] = "version='v1'", ["experiment"] = "version='v2\"} or vector(1) or {x=\"'",
            ["start"] = "2026-11-02T10:30:00Z", ["end"] = $"{SyntheticHistory.WindowEnd:yyyy-MM-ddTHH:mm:ssZ}",
        };
        var (done, _, _) = await ServeHost.RunAnalysisAsync(viewer, body.ToJsonString());
        var query = done["result"]!["judgements"]![0]!["queries"]!["error rate"]!["experiment"]!.GetValue<string>();
        Assert.Contains("version=\"v2\\\"} or vector(1) or {x=\\\"\"", query, StringComparison.Ordinal);
        Assert.Contains("version=\"v1\"", done["result"]!["judgements"]![0]!["queries"]!["error rate"]!["control"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inline_PromQL_from_a_viewer_is_forbidden_naming_the_query()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        const string body = """{"service": "x", "config": {"metrics": [{"name": "ok", "template": "http-error-rate"}, {"name": "everything", "query": "count(up) * 1000", "kind": "gauge"}]}, "control": "version=\"v1\"", "experiment": "version=\"v2\"", "start": "now-1h"}""";
        var problem = await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), ServeHost.Json(body)), HttpStatusCode.Forbidden);
        Assert.Equal("config.metrics[1].query", problem["errors"]![0]!["field"]!.GetValue<string>());
        Assert.Contains("Api:InlineQueriesRole", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var @operator = serve.Client(ServeHost.OperatorToken);
        using var accepted = await @operator.PostAsync(new Uri("/api/v1/analyses", UriKind.Relative), ServeHost.Json(body));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
    }

    [Fact]
    public async Task A_wrong_media_type_is_refused_only_after_authentication()
    {
        using var nobody = serve.Client(null);
        await ServeHost.ProblemAsync(await nobody.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "text/plain")), HttpStatusCode.Unauthorized);

        using var viewer = serve.Client(ServeHost.ViewerToken);
        await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_wrong_media_type_names_what_is_accepted()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        var problem = await ServeHost.ProblemAsync(await viewer.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("the body is text/plain; send Content-Type: application/json", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_template_error_names_the_template()
    {
        var problem = await PutUnknownTemplateAsync();
        var reason = problem["errors"]![0]!["reason"]!.GetValue<string>();
        Assert.StartsWith("no template \"nope\" in the shipped templates; known: ", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_template_error_never_names_the_install_path()
    {
        var problem = await PutUnknownTemplateAsync();
        Assert.DoesNotContain(AppContext.BaseDirectory.TrimEnd('/'), problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_OpenAPI_document_declares_the_bearer_scheme()
    {
        var document = await OpenApiAsync();
        Assert.Equal(("http", "bearer"), (document["components"]!["securitySchemes"]!["bearer"]!["type"]!.GetValue<string>(), document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_OpenAPI_document_declares_each_operations_role()
    {
        var document = await OpenApiAsync();
        var roles = new Dictionary<(string, string), string>
        {
            [("/api/v1/judge", "post")] = "viewer",
            [("/api/v1/rollouts/{ns}/{name}/approve", "post")] = "operator",
            [("/api/v1/configs/{name}", "put")] = "admin",
            [("/api/v1/analyses/{id}", "delete")] = "viewer",
        };
        foreach (var ((path, method), role) in roles)
        {
            var operation = document["paths"]![path]![method]!;
            Assert.Equal(role, operation["x-canary-role"]!.GetValue<string>());
            Assert.NotNull(operation["security"]![0]!["bearer"]);
        }
    }

    /// <summary>Puts a config whose metric names a template that does not exist, and returns the 400's problem.</summary>
    private async Task<JsonNode> PutUnknownTemplateAsync()
    {
        using var admin = serve.Client(ServeHost.AdminToken);
        return await ServeHost.ProblemAsync(await admin.PutAsync(new Uri("/api/v1/configs/broken", UriKind.Relative),
            new StringContent("metrics:\n  - name: e\n    template: nope\n", Encoding.UTF8, "application/yaml")), HttpStatusCode.BadRequest);
    }

    private async Task<JsonNode> OpenApiAsync()
    {
        using var viewer = serve.Client(ServeHost.ViewerToken);
        return JsonNode.Parse(await viewer.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
    }
}
