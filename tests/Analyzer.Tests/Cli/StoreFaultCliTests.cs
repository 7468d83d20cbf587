using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>A store canary cannot use is the environment, not a bug: exit 3 and one line naming the store's kind and path.</summary>
public sealed class StoreFaultCliTests
{
    private const string Kubeconfig = """
        apiVersion: v1
        kind: Config
        clusters: [{name: none, cluster: {server: "http://127.0.0.1:1"}}]
        users: [{name: none, user: {token: none}}]
        contexts: [{name: none, context: {cluster: none, user: none}}]
        current-context: none
        """;

    [Fact]
    public async Task Serve_refuses_to_start_on_a_corrupt_store_with_exit_3()
    {
        var store = await CorruptStoreAsync();
        var run = await CanaryRunner.RunProcessAsync("serve", "--store", $"sqlite:{store}", "--kubeconfig", CanaryRunner.TempFile("kubeconfig", Kubeconfig), "--urls", "http://127.0.0.1:0", "--prometheus", "http://127.0.0.1:1");
        Assert.Equal(3, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith($"canary serve: the store sqlite:{store}: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_an_empty_file_as_its_store_leaving_it_empty()
    {
        var store = CanaryRunner.TempFile("canary.db", string.Empty);
        var run = await CanaryRunner.RunProcessAsync("serve", "--store", $"sqlite:{store}", "--kubeconfig", CanaryRunner.TempFile("kubeconfig", Kubeconfig), "--urls", "http://127.0.0.1:0", "--prometheus", "http://127.0.0.1:1");
        Assert.Equal(3, run.ExitCode);
        Assert.Equal([$"canary serve: the store sqlite:{store}: is an empty file, not a canary store; canary creates a store only where no file is (remove the file or choose another path)"], run.ErrorLines);
        Assert.Equal(0, new FileInfo(store).Length);
    }

    [Fact]
    public async Task Report_on_a_corrupt_store_exits_3_writing_nothing()
    {
        var store = await CorruptStoreAsync();
        var output = Path.Combine(Path.GetDirectoryName(store)!, "report");
        var run = await CanaryRunner.RunProcessAsync("report", "--store", $"sqlite:{store}", "--week", "2026-W47", "--output", output);
        Assert.Equal(3, run.ExitCode);
        Assert.Contains(store, Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    /// <summary>A real store whose pages after the header were overwritten (the header still says SQLite).</summary>
    private static async Task<string> CorruptStoreAsync()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("canary-test-").FullName, "canary.db");
        await using (var store = new Canary.Analyzer.Storage.SqliteAnalysisStore(path))
        {
            await store.MigrateAsync(CancellationToken.None);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = 100;
        await file.WriteAsync(Enumerable.Repeat((byte)0xA5, 8000).ToArray());
        return path;
    }
}
