using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Canary.Analyzer.Storage;

/// <summary>
/// The embedded default: one SQLite file (write-ahead log, so readers never wait for the writer).
/// A store is created only where no file is: an empty, foreign or corrupt file is refused, never
/// replaced. The file is made readable by its owner only (0600), and SQLite gives its -wal and -shm
/// files the database's own mode.
/// </summary>
internal sealed class SqliteAnalysisStore(string path, TimeProvider? time = null) : SqlAnalysisStore(time)
{
    private static readonly byte[] Header = "SQLite format 3\0"u8.ToArray();

    private readonly string connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30, Mode = SqliteOpenMode.ReadWrite }.ToString();

    public string Path { get; } = path;

    public override string Description => $"sqlite:{System.IO.Path.GetFullPath(Path)}";

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        var full = System.IO.Path.GetFullPath(Path);
        if (Directory.Exists(full))
        {
            throw new StoreException(Description, "is a directory, not a store file");
        }

        if (!File.Exists(full))
        {
            if (System.IO.Path.GetDirectoryName(full) is { } folder && !Directory.Exists(folder))
            {
                throw new StoreException(Description, $"the folder {folder} does not exist");
            }

            // Created here, owner-only, so SQLite opens an existing file and its -wal and -shm files inherit the mode.
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var created = new FileStream(full, options);
            }
            catch (IOException) when (File.Exists(full))
            {
                // Another process created it first: check it as an existing file.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StoreException(Description, $"cannot be created: {e.Message}", e);
            }

            if (new FileInfo(full).Length == 0)
            {
                return;
            }
        }

        await CheckExistingAsync(full, cancellationToken);
    }

    /// <summary>Checks an existing store without changing it (for readers such as canary report).</summary>
    /// <exception cref="StoreException">It is missing, empty, not an SQLite database, or one of something else.</exception>
    public Task CheckAsync(CancellationToken cancellationToken)
    {
        var full = System.IO.Path.GetFullPath(Path);
        return File.Exists(full) ? CheckExistingAsync(full, cancellationToken) : throw new StoreException(Description, "no such file");
    }

    private async Task CheckExistingAsync(string full, CancellationToken cancellationToken)
    {
        var head = new byte[Header.Length];
        int read;
        try
        {
            await using var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = await file.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException(Description, $"cannot be read: {e.Message}", e);
        }

        if (read == 0)
        {
            throw new StoreException(Description, "is an empty file, not a canary store; canary creates a store only where no file is (remove the file or choose another path)");
        }

        if (read < Header.Length || !head.AsSpan().SequenceEqual(Header))
        {
            throw new StoreException(Description, "is not an SQLite database (it may be another kind of file, or corrupt); canary refuses to replace it");
        }

        // An SQLite database of something else (tables, but none of canary's) is not taken over.
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var tables = connection.CreateCommand();
            tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            var names = new List<string>();
            await using (var reader = await tables.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    names.Add(reader.GetString(0));
                }
            }

            if (names.Count > 0 && !names.Contains("schema_migrations"))
            {
                throw new StoreException(Description, $"is an SQLite database of something else (tables {string.Join(", ", names.Take(5))}), not a canary store; canary refuses to change it");
            }
        }
        catch (SqliteException e)
        {
            throw new StoreException(Description, $"cannot be read: {e.Message}", e);
        }
    }
}

/// <summary>PostgreSQL, for several replicas sharing the rollouts (with Quartz's clustered job store).</summary>
internal sealed class PostgresAnalysisStore(string connectionString, TimeProvider? time = null) : SqlAnalysisStore(time)
{
    private readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);

    /// <summary>Host, port and database only: never the user or the password.</summary>
    public override string Description { get; } = Describe(connectionString);

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>A session advisory lock (an arbitrary constant key: "canary" in ASCII) held while migrating.</summary>
    protected override (string Lock, string Unlock)? MigrationLock => ("SELECT pg_advisory_lock(1667329646)", "SELECT pg_advisory_unlock(1667329646)");

    public override async ValueTask DisposeAsync()
    {
        await dataSource.DisposeAsync();
        await base.DisposeAsync();
    }

    private static string Describe(string connectionString)
    {
        var parts = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres:{parts.Host ?? "localhost"}:{parts.Port}/{parts.Database ?? parts.Username ?? "postgres"}";
    }
}

/// <summary>--store sqlite:PATH | postgres:CONNECTION, as `canary serve` and `canary report` take it.</summary>
internal static class StoreLocation
{
    /// <exception cref="ArgumentException">Neither form, or a connection string that does not parse; the message says which forms there are.</exception>
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
