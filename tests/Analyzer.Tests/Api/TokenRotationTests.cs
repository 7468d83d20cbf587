using System.Net;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>Api:TokensFile (lines of NAME ROLE TOKEN, e.g. a mounted Kubernetes secret) is read at every request: a rotation takes effect without a restart.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class TokenRotationTests(PrometheusFixture prometheus)
{
    [Fact]
    public async Task A_rotated_tokens_file_takes_effect_at_the_next_request()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("canary-tokens-").FullName, "tokens");
        await File.WriteAllTextAsync(file, "# name role token\nci viewer old-token-0123456789\n");
        await using var serve = await ServeHost.StartAsync(prometheus.Url, settings: new Dictionary<string, string> { ["CANARY__Api__TokensFile"] = file });
        using var old = serve.Client("old-token-0123456789");
        using var rotated = serve.Client("new-token-9876543210");
        Assert.Equal(HttpStatusCode.OK, (await old.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await rotated.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).StatusCode);

        // The secret is rotated in place, as the kubelet does with a mounted secret (a new file renamed over the old).
        var next = file + ".next";
        await File.WriteAllTextAsync(next, "ci viewer new-token-9876543210\n");
        File.Move(next, file, overwrite: true);

        Assert.Equal(HttpStatusCode.Unauthorized, (await old.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await rotated.GetAsync(new Uri("/api/v1/rollouts", UriKind.Relative))).StatusCode);
    }
}
