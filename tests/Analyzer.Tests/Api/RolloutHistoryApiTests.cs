using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Canary.Analyzer.Tests.Api;

/// <summary>
/// One rollout with a long history, as 12 days at a 10 s interval leave it: 100,000 decisions and
/// 2,000 analyses (each with its samples) written into an SQLite store, then `canary serve` on it.
/// </summary>
public sealed class RolloutHistoryFixture : IAsyncLifetime
{
    public const int Decisions = 100_000;
    public const int Analyses = 2_000;
    private static readonly DateTimeOffset T0 = new(2026, 11, 16, 0, 0, 0, TimeSpan.Zero);

    public ServeHost Serve { get; private set; } = null!;

    public Guid AnAnalysis { get; } = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("canary-history-").FullName, "canary.db");
        await using (var store = new SqliteAnalysisStore(path))
        {
            await store.MigrateAsync(CancellationToken.None);
        }

        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await ExecuteAsync(connection, """
                INSERT INTO rollouts (rollout_key, state, phase, updated_at, version)
                VALUES ('shop/checkout', '{"Phase":"Progressing","Revision":"r2","PrimaryRevision":"r1","Step":2,"CanaryWeight":30}', 'Progressing', 0, 1)
                """);
            await using (var insert = Command(connection, "INSERT INTO decisions (id, rollout_key, at, phase, canary_weight, verdict, reason, actions, revision) VALUES ($id, 'shop/checkout', $at, 'Progressing', $weight, 'Advance', $reason, '[{\"type\":\"SetRouting\"}]', 'r2')", "$id", "$at", "$weight", "$reason"))
            {
                for (var i = 0; i < Decisions; i++)
                {
                    var weight = (i / 10 % 6) * 10;
                    Set(insert, Guid.NewGuid().ToString(), T0.AddSeconds(10 * i).ToUnixTimeMilliseconds(), weight, $"analysis passed (score 100); canary weight {weight} % → {weight + 10} %, step {i}");
                    await insert.ExecuteNonQueryAsync();
                }
            }

            var result = Result();
            var summary = AnalysisSummary.Summarize(result)!;
            await using (var insert = Command(connection, "INSERT INTO analyses (id, rollout_key, at, verdict, score, inconclusive, result, queries, summary) VALUES ($id, 'shop/checkout', $at, 'Pass', 100, 0, $result, '{\"error rate\": {\"control\": \"q1\", \"experiment\": \"q2\"}}', $summary)", "$id", "$at", "$result", "$summary"))
            {
                for (var i = 0; i < Analyses; i++)
                {
                    Set(insert, (i == 0 ? AnAnalysis : Guid.NewGuid()).ToString(), T0.AddSeconds(500 * i).ToUnixTimeMilliseconds(), result, summary);
                    await insert.ExecuteNonQueryAsync();
                }
            }

            await transaction.CommitAsync();
        }

        // No Prometheus is asked: nothing here analyses.
        Serve = await ServeHost.StartAsync(new Uri("http://127.0.0.1:1/"), $"sqlite:{path}");
    }

    public async Task DisposeAsync() => await Serve.DisposeAsync();

    /// <summary>A Judge output of three metrics with 90 samples per cohort, as a rollout analysis keeps it.</summary>
    private static string Result()
    {
        var random = new Random(7);
        var metrics = new JsonArray();
        var series = new JsonObject();
        foreach (var name in new[] { "error rate", "p50 latency", "p99 latency" })
        {
            metrics.Add(new JsonObject { ["name"] = name, ["classification"] = "Pass", ["reason"] = $"{name} is within its bounds", ["test"] = new JsonObject { ["pValue"] = 0.4, ["lower"] = -0.1, ["upper"] = 0.2 } });
            series[name] = new JsonObject
            {
                ["control"] = new JsonArray([.. Enumerable.Range(0, 90).Select(_ => (JsonNode)JsonValue.Create(Math.Round(random.NextDouble(), 6)))]),
                ["experiment"] = new JsonArray([.. Enumerable.Range(0, 90).Select(_ => (JsonNode)JsonValue.Create(Math.Round(random.NextDouble(), 6)))]),
            };
        }

        return new JsonObject { ["score"] = 100, ["classification"] = "Pass", ["reason"] = "every metric passed", ["metrics"] = metrics, ["series"] = series }.ToJsonString();
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private static void Set(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }
}

/// <summary>No answer grows with a rollout's history: every endpoint and page is a page, and 20 readers at once leave canary small.</summary>
public sealed class RolloutHistoryApiTests(RolloutHistoryFixture history) : IClassFixture<RolloutHistoryFixture>
{
    private const int OneMegabyte = 1 << 20;

    [Fact]
    public async Task Every_rollout_endpoint_or_page_answers_under_1_MB()
    {
        using var viewer = history.Serve.Client(ServeHost.ViewerToken);
        foreach (var path in new[]
        {
            "/api/v1/rollouts", "/api/v1/rollouts/shop/checkout", "/api/v1/rollouts/shop/checkout?limit=500",
            "/api/v1/rollouts/shop/checkout/decisions?limit=500", "/api/v1/rollouts/shop/checkout/analyses?limit=500",
            $"/api/v1/rollouts/shop/checkout/analyses/{history.AnAnalysis}", "/", "/rollouts/shop/checkout", $"/analyses/{history.AnAnalysis}",
        })
        {
            using var answer = await viewer.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{path}: {answer.StatusCode}");
            var bytes = (await answer.Content.ReadAsByteArrayAsync()).Length;
            Assert.True(bytes < OneMegabyte, $"{path} answered {bytes} bytes");
        }
    }

    [Fact]
    public async Task The_rollout_shows_its_newest_50_decisions_with_a_link_to_the_older()
    {
        var rollout = await ReadRolloutAsync();
        var decisions = rollout["decisions"]!.AsArray();
        Assert.Equal(50, decisions.Count);
        Assert.EndsWith($"step {RolloutHistoryFixture.Decisions - 1}", decisions[0]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("/api/v1/rollouts/shop/checkout/decisions?limit=50&after=", rollout["decisionsNext"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_rollout_shows_its_newest_50_analyses()
    {
        var rollout = await ReadRolloutAsync();
        Assert.Equal(50, rollout["analyses"]!.AsArray().Count);
    }

    [Fact]
    public async Task The_rollout_shows_at_most_500_weight_points()
    {
        var rollout = await ReadRolloutAsync();
        Assert.InRange(rollout["weightHistory"]!.AsArray().Count, 400, RolloutEndpointsLimit);
    }

    [Fact]
    public async Task Following_next_visits_every_decision_once()
    {
        using var viewer = history.Serve.Client(ServeHost.ViewerToken);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var next = "/api/v1/rollouts/shop/checkout/decisions?limit=500";
        while (next is not null)
        {
            var page = await ServeHost.ReadJsonAsync(await viewer.GetAsync(new Uri(next, UriKind.Relative)));
            foreach (var decision in page["items"]!.AsArray())
            {
                Assert.True(seen.Add(decision!["id"]!.GetValue<string>()));
            }

            next = page["next"] is { } cursor ? $"/api/v1/rollouts/shop/checkout/decisions?limit=500&after={Uri.EscapeDataString(cursor.GetValue<string>())}" : null;
        }

        Assert.Equal(RolloutHistoryFixture.Decisions, seen.Count);
    }

    [Fact]
    public async Task The_page_links_to_older_decisions()
    {
        using var viewer = history.Serve.Client(ServeHost.ViewerToken);
        var page = await viewer.GetStringAsync(new Uri("/rollouts/shop/checkout", UriKind.Relative));
        Assert.Contains($"step {RolloutHistoryFixture.Decisions - 1}", page, StringComparison.Ordinal);
        var link = System.Text.RegularExpressions.Regex.Match(page, "id=\"older-decisions\" href=\"([^\"]+)\"").Groups[1].Value;
        var older = await viewer.GetStringAsync(new Uri(WebUtility.HtmlDecode(link), UriKind.Relative));
        Assert.Contains($"step {RolloutHistoryFixture.Decisions - 51}", older, StringComparison.Ordinal);
        Assert.DoesNotContain($"step {RolloutHistoryFixture.Decisions - 1}<", older, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Canary_serve_stays_under_300_MB_while_20_viewers_read_the_rollout_at_once()
    {
        using var viewer = history.Serve.Client(ServeHost.ViewerToken);
        // What a viewer reads of one rollout: the API's detail and the dashboard's page.
        var paths = new[] { "/api/v1/rollouts/shop/checkout", "/rollouts/shop/checkout" };
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async reader =>
        {
            for (var round = 0; round < 10; round++)
            {
                using var answer = await viewer.GetAsync(new Uri(paths[(reader + round) % paths.Length], UriKind.Relative));
                answer.EnsureSuccessStatusCode();
                await answer.Content.ReadAsByteArrayAsync();
            }
        }));

        // VmHWM: the most resident memory the process has had since it started.
        var peak = File.ReadAllLines($"/proc/{history.Serve.ProcessId.ToString(CultureInfo.InvariantCulture)}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kilobytes = long.Parse(peak.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        Assert.True(kilobytes < 300 * 1024, $"canary serve peaked at {kilobytes / 1024} MB");
    }

    private const int RolloutEndpointsLimit = Canary.Analyzer.Api.RolloutEndpoints.MaxWeightPoints;

    /// <summary>The rollout's detail as GET /api/v1/rollouts/shop/checkout answers it to a viewer.</summary>
    private async Task<JsonNode> ReadRolloutAsync()
    {
        using var viewer = history.Serve.Client(ServeHost.ViewerToken);
        return await ServeHost.ReadJsonAsync(await viewer.GetAsync(new Uri("/api/v1/rollouts/shop/checkout", UriKind.Relative)));
    }
}
