using System.Globalization;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Canary.Analyzer.Tests.Storage;

/// <summary>The SQLite store's file: created only where there is none, never taken over, readable by its owner only.</summary>
public sealed class SqliteStoreFileTests
{
    private readonly string folder = Directory.CreateTempSubdirectory("canary-store-").FullName;

    [Fact]
    public async Task An_empty_file_is_refused_untouched()
    {
        var path = Path.Combine(folder, "canary.db");
        await File.WriteAllBytesAsync(path, []);
        await using var store = new SqliteAnalysisStore(path);
        var e = await Assert.ThrowsAsync<StoreException>(() => store.MigrateAsync(CancellationToken.None));
        Assert.Equal($"sqlite:{path}", e.Store);
        Assert.StartsWith("is an empty file, not a canary store", e.Reason, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused_untouched()
    {
        var path = Path.Combine(folder, "notes.txt");
        await File.WriteAllTextAsync(path, "my release notes, not a database\n");
        await using var store = new SqliteAnalysisStore(path);
        var e = await Assert.ThrowsAsync<StoreException>(() => store.MigrateAsync(CancellationToken.None));
        Assert.StartsWith("is not an SQLite database", e.Reason, StringComparison.Ordinal);
        Assert.Equal("my release notes, not a database\n", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task An_SQLite_database_of_something_else_is_refused()
    {
        var path = Path.Combine(folder, "other.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY)";
            await command.ExecuteNonQueryAsync();
        }

        await using var store = new SqliteAnalysisStore(path);
        var e = await Assert.ThrowsAsync<StoreException>(() => store.MigrateAsync(CancellationToken.None));
        Assert.Equal("is an SQLite database of something else (tables invoices), not a canary store; canary refuses to change it", e.Reason);
    }

    [Fact]
    public async Task A_corrupt_store_is_refused_with_its_path()
    {
        var path = Path.Combine(folder, "canary.db");
        await using (var store = new SqliteAnalysisStore(path))
        {
            await store.MigrateAsync(CancellationToken.None);
        }

        SqliteConnection.ClearAllPools();

        // The header stays; the pages after it (the schema) are overwritten.
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = 100;
            await file.WriteAsync(Enumerable.Repeat((byte)0xA5, 8000).ToArray());
        }

        await using var broken = new SqliteAnalysisStore(path);
        var e = await Assert.ThrowsAsync<StoreException>(() => broken.MigrateAsync(CancellationToken.None));
        Assert.Equal($"sqlite:{path}", e.Store);
        Assert.Contains("malformed", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_new_store_with_its_write_ahead_files_is_readable_by_its_owner_only()
    {
        var path = Path.Combine(folder, "canary.db");
        await using var store = new SqliteAnalysisStore(path);
        await store.MigrateAsync(CancellationToken.None);
        await store.ListRolloutsAsync(CancellationToken.None);
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task Migration_4_compacts_the_idle_decisions_a_store_already_holds()
    {
        var path = Path.Combine(folder, "canary.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            await StoreSchema.MigrateAsync(connection, "test", DateTimeOffset.UnixEpoch, CancellationToken.None, upTo: 3);

            // Three releases' worth of rows as schema 3 kept them: 1 progressing, 200 idle repeats, 1 command, 100 idle repeats.
            var rows = new List<(string Phase, int Weight, string Reason, string? Commands)> { ("Progressing", 20, "advanced to 20 %", null) };
            rows.AddRange(Enumerable.Repeat(("Succeeded", 0, "idle: the primary runs r2", (string?)null), 200));
            rows.Add(("Succeeded", 0, "idle: the primary runs r2", "pause"));
            rows.AddRange(Enumerable.Repeat(("Succeeded", 0, "idle: the primary runs r2", (string?)null), 100));
            for (var i = 0; i < rows.Count; i++)
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO decisions (id, rollout_key, at, phase, canary_weight, verdict, reason, actions, revision, commands) VALUES ($id, 'shop/checkout', $at, $phase, $weight, 'Hold', $reason, '[]', 'r2', $commands)";
                insert.Parameters.AddWithValue("$id", Guid.NewGuid().ToString());
                insert.Parameters.AddWithValue("$at", (1000L * i).ToString(CultureInfo.InvariantCulture));
                insert.Parameters.AddWithValue("$phase", rows[i].Phase);
                insert.Parameters.AddWithValue("$weight", rows[i].Weight);
                insert.Parameters.AddWithValue("$reason", rows[i].Reason);
                insert.Parameters.AddWithValue("$commands", (object?)rows[i].Commands ?? DBNull.Value);
                await insert.ExecuteNonQueryAsync();
            }
        }

        await using var store = new SqliteAnalysisStore(path);
        await store.MigrateAsync(CancellationToken.None);
        var kept = await store.AllDecisionsAsync("shop/checkout");
        Assert.Equal([("Progressing", (string?)null, 0L), ("Succeeded", null, 1000L), ("Succeeded", "pause", 201_000L)], kept.Select(d => (d.Phase, d.Commands, d.At.ToUnixTimeMilliseconds())));
    }
}
