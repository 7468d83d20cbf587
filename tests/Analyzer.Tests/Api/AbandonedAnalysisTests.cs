using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Api;

/// <summary>
/// The runner's heartbeat job: an analysis left Running by a replica that stopped beating (it crashed)
/// is marked Failed with the reason by whichever replica looks next, and one still beating is not.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class AbandonedAnalysisTests(PrometheusFixture prometheus)
{
    [Fact]
    public async Task An_analysis_whose_replica_went_silent_is_failed_by_the_next_replica_that_starts()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("canary-abandoned-").FullName, "canary.db");
        var now = DateTimeOffset.UtcNow;
        var silent = new RequestedAnalysis(Guid.NewGuid(), "checkout", now.AddMinutes(-20), now.AddMinutes(-10), RequestedAnalysis.Running, null, null, "{}", null, null, "ci-viewer");
        var beating = silent with { Id = Guid.NewGuid(), UpdatedAt = now.AddMinutes(10) };
        await using (var store = new SqliteAnalysisStore(path))
        {
            await store.MigrateAsync(CancellationToken.None);
            await store.SaveRequestedAnalysisAsync(silent, CancellationToken.None);
            await store.SaveRequestedAnalysisAsync(beating, CancellationToken.None);
        }

        await using var serve = await ServeHost.StartAsync(prometheus.Url, $"sqlite:{path}");
        using var viewer = serve.Client(ServeHost.ViewerToken);
        JsonNode? Status(string json) => JsonNode.Parse(json)?["status"];
        await Poll.UntilAsync(
            async () => Status(await viewer.GetStringAsync(new Uri($"/api/v1/analyses/{silent.Id}", UriKind.Relative)))?.GetValue<string>() == RequestedAnalysis.Failed,
            "the silent analysis to be marked Failed");

        var failed = JsonNode.Parse(await viewer.GetStringAsync(new Uri($"/api/v1/analyses/{silent.Id}", UriKind.Relative)))!;
        Assert.Equal("canary stopped while the analysis ran; ask again", failed["error"]!.GetValue<string>());
        Assert.Equal(RequestedAnalysis.Running, Status(await viewer.GetStringAsync(new Uri($"/api/v1/analyses/{beating.Id}", UriKind.Relative)))!.GetValue<string>());
    }
}
