using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Storage;

/// <summary>
/// The store over ADO.NET, the same SQL for SQLite and PostgreSQL (both read @name parameters and
/// ON CONFLICT upserts); times are unix milliseconds, documents are JSON text. Migrations are
/// numbered, each applied once in a transaction and recorded in schema_migrations.
/// </summary>
public abstract class SqlAnalysisStore(TimeProvider? time = null) : IAnalysisStore
{
    private readonly TimeProvider time = time ?? TimeProvider.System;

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The schema, one entry per version; never edit a released entry, add one.</summary>
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE rollouts (
                rollout_key TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                phase TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                version BIGINT NOT NULL);
            CREATE TABLE analyses (
                id TEXT PRIMARY KEY,
                rollout_key TEXT NOT NULL,
                at BIGINT NOT NULL,
                verdict TEXT NOT NULL,
                score DOUBLE PRECISION,
                inconclusive BOOLEAN NOT NULL,
                result TEXT NOT NULL,
                queries TEXT NOT NULL);
            CREATE INDEX analyses_by_rollout ON analyses (rollout_key, at);
            CREATE TABLE decisions (
                id TEXT PRIMARY KEY,
                rollout_key TEXT NOT NULL,
                at BIGINT NOT NULL,
                phase TEXT NOT NULL,
                canary_weight INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                reason TEXT NOT NULL,
                actions TEXT NOT NULL,
                analysis_id TEXT);
            CREATE INDEX decisions_by_rollout ON decisions (rollout_key, at);
            """),
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => Migrations[^1].Version;

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>SQL that makes replicas starting together migrate one after the other (and its release); null when the database does it itself.</summary>
    protected virtual (string Lock, string Unlock)? MigrationLock => null;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        if (MigrationLock is { } serialized)
        {
            await ExecuteAsync(connection, null, serialized.Lock, cancellationToken);
        }

        try
        {
            await MigrateLockedAsync(connection, time.GetUtcNow(), cancellationToken);
        }
        finally
        {
            if (MigrationLock is { } release)
            {
                await ExecuteAsync(connection, null, release.Unlock, CancellationToken.None);
            }
        }
    }

    private static async Task MigrateLockedAsync(DbConnection connection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken);
        foreach (var (version, sql) in Migrations)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var check = Command(connection, transaction, "SELECT COUNT(*) FROM schema_migrations WHERE version = @v", ("v", version)))
            {
                if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0)
                {
                    continue;
                }
            }

            foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await ExecuteAsync(connection, transaction, statement, cancellationToken);
            }

            await using (var record = Command(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @at)", ("v", version), ("at", now.ToUnixTimeMilliseconds())))
            {
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        // A database migrated by a newer canary is not downgraded silently.
        await using var newest = Command(connection, null, "SELECT MAX(version) FROM schema_migrations");
        var applied = Convert.ToInt64(await newest.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        if (applied > SchemaVersion)
        {
            throw new InvalidOperationException($"the store's schema is at version {applied}, newer than this canary knows ({SchemaVersion}); upgrade canary");
        }
    }

    public async Task<StoredRollout?> GetRolloutAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT rollout_key, state, updated_at, version FROM rollouts WHERE rollout_key = @k", ("k", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRollout(reader) : null;
    }

    public async Task<IReadOnlyList<StoredRollout>> ListRolloutsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT rollout_key, state, updated_at, version FROM rollouts ORDER BY rollout_key");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rollouts = new List<StoredRollout>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rollouts.Add(ReadRollout(reader));
        }

        return rollouts;
    }

    public async Task<long> SaveTickAsync(TickRecord tick, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tick);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long version;
        await using (var current = Command(connection, transaction, "SELECT version FROM rollouts WHERE rollout_key = @k", ("k", tick.RolloutKey)))
        {
            var found = await current.ExecuteScalarAsync(cancellationToken);
            var stored = found is null or DBNull ? (long?)null : Convert.ToInt64(found, CultureInfo.InvariantCulture);
            if (tick.ExpectedVersion is { } expected && stored != expected)
            {
                throw new StaleRolloutException($"rollout {tick.RolloutKey} is at version {stored?.ToString(CultureInfo.InvariantCulture) ?? "none"}, not {expected}: another replica decided first");
            }

            version = (stored ?? 0) + 1;
        }

        var at = tick.Decision.At.ToUnixTimeMilliseconds();
        await using (var upsert = Command(connection, transaction, """
            INSERT INTO rollouts (rollout_key, state, phase, updated_at, version) VALUES (@k, @s, @p, @at, @v)
            ON CONFLICT (rollout_key) DO UPDATE SET state = excluded.state, phase = excluded.phase, updated_at = excluded.updated_at, version = excluded.version
            """, ("k", tick.RolloutKey), ("s", JsonSerializer.Serialize(tick.State, Json)), ("p", tick.State.Phase.ToString()), ("at", at), ("v", version)))
        {
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (tick.Analysis is { } a)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO analyses (id, rollout_key, at, verdict, score, inconclusive, result, queries) VALUES (@id, @k, @at, @verdict, @score, @inconclusive, @result, @queries)
                """, ("id", a.Id.ToString()), ("k", a.RolloutKey), ("at", a.At.ToUnixTimeMilliseconds()), ("verdict", a.Verdict), ("score", a.Score), ("inconclusive", a.Inconclusive), ("result", a.ResultJson), ("queries", a.QueriesJson));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        var d = tick.Decision;
        await using (var insert = Command(connection, transaction, """
            INSERT INTO decisions (id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id) VALUES (@id, @k, @at, @phase, @weight, @verdict, @reason, @actions, @analysis)
            """, ("id", d.Id.ToString()), ("k", d.RolloutKey), ("at", at), ("phase", d.Phase), ("weight", d.CanaryWeight), ("verdict", d.Verdict), ("reason", d.Reason), ("actions", d.ActionsJson), ("analysis", d.AnalysisId?.ToString())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<IReadOnlyList<AnalysisRecord>> AnalysesAsync(string rolloutKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT id, rollout_key, at, verdict, score, inconclusive, result, queries FROM analyses WHERE rollout_key = @k ORDER BY at, id", ("k", rolloutKey));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var analyses = new List<AnalysisRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            analyses.Add(new AnalysisRecord(
                Guid.Parse(reader.GetString(0)), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.GetBoolean(5), reader.GetString(6), reader.GetString(7)));
        }

        return analyses;
    }

    public async Task<IReadOnlyList<DecisionRecord>> DecisionsAsync(string rolloutKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id FROM decisions WHERE rollout_key = @k ORDER BY at, id", ("k", rolloutKey));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var decisions = new List<DecisionRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            decisions.Add(new DecisionRecord(
                Guid.Parse(reader.GetString(0)), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3),
                reader.GetInt32(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.IsDBNull(8) ? null : Guid.Parse(reader.GetString(8))));
        }

        return decisions;
    }

    public async Task<int> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var cutoff = olderThan.ToUnixTimeMilliseconds();
        var removed = 0;
        foreach (var table in new[] { "analyses", "decisions" })
        {
            await using var delete = Command(connection, transaction, $"DELETE FROM {table} WHERE at < @cutoff", ("cutoff", cutoff));
            removed += await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    public async Task DeleteRolloutAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var delete = Command(connection, null, "DELETE FROM rollouts WHERE rollout_key = @k", ("k", key));
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private static StoredRollout ReadRollout(DbDataReader reader) => new(
        reader.GetString(0),
        JsonSerializer.Deserialize<RolloutState>(reader.GetString(1), Json)!,
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
        reader.GetInt64(3));

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
