using System.Net;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>The dashboard's cookie forms: one origin rule for sign-in and sign-out, and paths beyond ASCII taken back as they were.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class SignInTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private ServeHost serve = null!;

    private string Self => serve.Url.GetLeftPart(UriPartial.Authority);

    public async Task InitializeAsync() => serve = await ServeHost.StartAsync(prometheus.Url);

    public async Task DisposeAsync() => await serve.DisposeAsync();

    [Fact]
    public async Task Sign_in_without_Origin_or_Referer_is_refused()
    {
        using var client = serve.BrowserClient();
        using var answer = await client.PostAsync(new Uri("/signin", UriKind.Relative), Form("/"));
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.False(answer.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Sign_in_from_this_sites_page_by_its_Referer_is_accepted()
    {
        using var client = serve.BrowserClient(("Referer", $"{Self}/rollouts/shop/checkout"));
        using var answer = await client.PostAsync(new Uri("/signin", UriKind.Relative), Form("/"));
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.StartsWith("canary_token=", answer.Headers.GetValues("Set-Cookie").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Behind_a_TLS_proxy_the_cookie_is_Secure()
    {
        using var proxied = serve.BrowserClient(("Origin", Self), ("X-Forwarded-Proto", "https"));
        using var secure = await proxied.PostAsync(new Uri("/signin", UriKind.Relative), Form("/"));
        Assert.Equal(HttpStatusCode.Redirect, secure.StatusCode);
        Assert.Contains("; secure", secure.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Over_plain_http_the_cookie_is_not_Secure()
    {
        using var plain = serve.BrowserClient(("Origin", Self));
        using var insecure = await plain.PostAsync(new Uri("/signin", UriKind.Relative), Form("/"));
        Assert.DoesNotContain("secure", insecure.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sign_out_from_another_origin_is_refused_keeping_the_cookie()
    {
        using var client = serve.BrowserClient(("Origin", "https://evil.example"), ("Cookie", $"canary_token={ServeHost.ViewerToken}"));
        using var answer = await client.PostAsync(new Uri("/signout", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.False(answer.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Sign_out_from_this_site_deletes_the_cookie()
    {
        using var client = serve.BrowserClient(("Origin", Self), ("Cookie", $"canary_token={ServeHost.ViewerToken}"));
        using var answer = await client.PostAsync(new Uri("/signout", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.Contains("canary_token=;", answer.Headers.GetValues("Set-Cookie").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_in_takes_the_user_back_to_a_path_beyond_ASCII_percent_encoded()
    {
        using var client = serve.BrowserClient(("Origin", Self));
        using var answer = await client.PostAsync(new Uri("/signin", UriKind.Relative), Form("/rollouts/café/kasse-ß"));
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.Equal("/rollouts/caf%C3%A9/kasse-%C3%9F", answer.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task The_sign_in_form_of_a_page_beyond_ASCII_carries_its_path_escaped()
    {
        using var client = serve.BrowserClient();
        using var answer = await client.GetAsync(new Uri("/rollouts/caf%C3%A9/kasse", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Contains("name=\"back\" value=\"/rollouts/caf%C3%A9/kasse\"", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_out_without_Origin_or_Referer_is_refused()
    {
        using var client = serve.BrowserClient(("Cookie", $"canary_token={ServeHost.ViewerToken}"));
        using var answer = await client.PostAsync(new Uri("/signout", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
    }

    [Fact]
    public async Task With_Api_PublicUrl_only_forms_from_that_origin_sign_in()
    {
        await using var behindProxy = await ServeHost.StartAsync(prometheus.Url, settings: new Dictionary<string, string> { ["CANARY__Api__PublicUrl"] = "https://canary.example.com" });
        using (var direct = behindProxy.BrowserClient(("Origin", behindProxy.Url.GetLeftPart(UriPartial.Authority))))
        using (var refused = await direct.PostAsync(new Uri("/signin", UriKind.Relative), Form("/")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var plainHttp = behindProxy.BrowserClient(("Origin", "http://canary.example.com")))
        using (var refused = await plainHttp.PostAsync(new Uri("/signin", UriKind.Relative), Form("/")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var site = behindProxy.BrowserClient(("Origin", "https://canary.example.com"));
        using var accepted = await site.PostAsync(new Uri("/signin", UriKind.Relative), Form("/"));
        Assert.Equal(HttpStatusCode.Redirect, accepted.StatusCode);
    }

    private static FormUrlEncodedContent Form(string back) => new([new("token", ServeHost.ViewerToken), new("back", back)]);
}
