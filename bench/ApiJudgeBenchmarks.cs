using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using Canary.Analyzer.Api;
using Canary.Analyzer.Documents;
using Canary.Judge;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Canary.Bench;

/// <summary>
/// POST /api/v1/judge with a 50-metric document (60 samples per cohort: 30 minutes at 30 s), over
/// loopback HTTP to the API's own endpoint (token check, body limit, reader, Judge, writer), one
/// request at a time and 64 at once; the peer is the same document judged in-process, so the
/// difference is what HTTP costs. (The CLI per document, the other peer, is timed by bench/run.sh.)
/// </summary>
[MemoryDiagnoser]
public class ApiJudgeBenchmarks
{
    private const int Concurrent = 64;
    private WebApplication app = null!;
    private HttpClient client = null!;
    private byte[] document = null!;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        var folder = Directory.CreateTempSubdirectory("canary-bench-").FullName;
        BenchData.WriteBatch(folder, 50, 60);
        document = await File.ReadAllBytesAsync(Path.Combine(folder, "batch.json"));
        var options = new ApiOptions();
        options.Tokens.Add(new ApiToken { Name = "bench", Role = ApiRole.Viewer, Token = "bench-token" });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(options).AddSingleton<ApiAccess>();
        app = builder.Build();
        app.MapGroup("/api/v1").MapJudge();
        await app.StartAsync();
        var address = app.Urls.First();
        client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = Concurrent }) { BaseAddress = new Uri(address) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "bench-token");
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        client.Dispose();
        await app.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "in-process: read + judge + write")]
    public long InProcess()
    {
        var parsed = JudgeDocumentReader.Read(document, "bench");
        using var output = new MemoryStream();
        JudgeDocumentWriter.Write(output, CanaryJudge.Judge(parsed.Config, parsed.Series));
        return output.Length;
    }

    [Benchmark(Description = "POST /api/v1/judge, one at a time")]
    public async Task<long> Post() => await SendAsync();

    [Benchmark(Description = "POST /api/v1/judge, 64 at once (per request)", OperationsPerInvoke = Concurrent)]
    public async Task<long> PostConcurrent() => (await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(_ => SendAsync()))).Sum();

    private async Task<long> SendAsync()
    {
        using var content = new ByteArrayContent(document);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var answer = await client.PostAsync(new Uri("/api/v1/judge", UriKind.Relative), content);
        answer.EnsureSuccessStatusCode();
        return (await answer.Content.ReadAsByteArrayAsync()).Length;
    }
}
