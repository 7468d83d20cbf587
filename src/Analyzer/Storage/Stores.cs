using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Canary.Analyzer.Storage;

/// <summary>The embedded default: one SQLite file (write-ahead log, so readers never wait for the writer).</summary>
public sealed class SqliteAnalysisStore(string path, TimeProvider? time = null) : SqlAnalysisStore(time)
{
    private readonly string connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();

    public string Path { get; } = path;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}

/// <summary>PostgreSQL, for several replicas sharing the rollouts (with Quartz's clustered job store).</summary>
public sealed class PostgresAnalysisStore(string connectionString, TimeProvider? time = null) : SqlAnalysisStore(time)
{
    private readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>A session advisory lock (an arbitrary constant key: "canary" in ASCII) held while migrating.</summary>
    protected override (string Lock, string Unlock)? MigrationLock => ("SELECT pg_advisory_lock(1667329646)", "SELECT pg_advisory_unlock(1667329646)");

    public override async ValueTask DisposeAsync()
    {
        await dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>--store sqlite:PATH | postgres:CONNECTION, as `canary serve` and `canary report` take it.</summary>
public static class StoreLocation
{
    /// <exception cref="ArgumentException">Neither form; the message says which forms there are.</exception>
    public static IAnalysisStore Open(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.StartsWith("sqlite:", StringComparison.Ordinal) && location.Length > "sqlite:".Length)
        {
            return new SqliteAnalysisStore(location["sqlite:".Length..]);
        }

        if (location.StartsWith("postgres:", StringComparison.Ordinal) && location.Length > "postgres:".Length)
        {
            return new PostgresAnalysisStore(location["postgres:".Length..]);
        }

        throw new ArgumentException($"\"{Redact(location)}\" is not a store: use sqlite:PATH or postgres:CONNECTION-STRING", nameof(location));
    }

    /// <summary>A location for messages: a PostgreSQL password never reaches a log.</summary>
    public static string Redact(string location) =>
        System.Text.RegularExpressions.Regex.Replace(location ?? string.Empty, "(?i)(password|pwd)=[^;]*", "$1=***");
}
