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
        (2, """
            CREATE TABLE requested_analyses (
                id TEXT PRIMARY KEY,
                service TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                status TEXT NOT NULL,
                verdict TEXT,
                score DOUBLE PRECISION,
                request TEXT NOT NULL,
                result TEXT,
                error TEXT,
                requested_by TEXT NOT NULL);
            CREATE INDEX requested_analyses_by_time ON requested_analyses (created_at, id);
            CREATE INDEX requested_analyses_by_service ON requested_analyses (service, created_at);
            CREATE TABLE named_configs (
                name TEXT PRIMARY KEY,
                body TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                updated_by TEXT NOT NULL);
            """),
        (3, """
            ALTER TABLE decisions ADD COLUMN revision TEXT;
            ALTER TABLE decisions ADD COLUMN commands TEXT;
            ALTER TABLE decisions ADD COLUMN fault TEXT;
            CREATE INDEX decisions_by_time ON decisions (at);
            CREATE INDEX analyses_by_time ON analyses (at);
            CREATE TABLE reports (
                week TEXT PRIMARY KEY,
                created_at BIGINT NOT NULL,
                json TEXT NOT NULL,
                html TEXT NOT NULL);
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
        return await ReadAllAsync(command, ReadRollout, cancellationToken);
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
            INSERT INTO decisions (id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id, revision, commands, fault)
            VALUES (@id, @k, @at, @phase, @weight, @verdict, @reason, @actions, @analysis, @revision, @commands, @fault)
            """, ("id", d.Id.ToString()), ("k", d.RolloutKey), ("at", at), ("phase", d.Phase), ("weight", d.CanaryWeight), ("verdict", d.Verdict), ("reason", d.Reason), ("actions", d.ActionsJson),
            ("analysis", d.AnalysisId?.ToString()), ("revision", d.Revision), ("commands", d.Commands), ("fault", d.Fault)))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<IReadOnlyList<AnalysisRecord>> AnalysesAsync(string rolloutKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {AnalysisColumns} FROM analyses WHERE rollout_key = @k ORDER BY at, id", ("k", rolloutKey));
        return await ReadAllAsync(command, ReadAnalysis, cancellationToken);
    }

    public async Task<IReadOnlyList<DecisionRecord>> DecisionsAsync(string rolloutKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {DecisionColumns} FROM decisions WHERE rollout_key = @k ORDER BY at, id", ("k", rolloutKey));
        return await ReadAllAsync(command, ReadDecision, cancellationToken);
    }

    public async Task<IReadOnlyList<DecisionRecord>> DecisionsBetweenAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {DecisionColumns} FROM decisions WHERE at >= @from AND at < @to ORDER BY rollout_key, at, id",
            ("from", since.ToUnixTimeMilliseconds()), ("to", until.ToUnixTimeMilliseconds()));
        return await ReadAllAsync(command, ReadDecision, cancellationToken);
    }

    public async Task<IReadOnlyList<AnalysisRecord>> AnalysesBetweenAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {AnalysisColumns} FROM analyses WHERE at >= @from AND at < @to ORDER BY rollout_key, at, id",
            ("from", since.ToUnixTimeMilliseconds()), ("to", until.ToUnixTimeMilliseconds()));
        return await ReadAllAsync(command, ReadAnalysis, cancellationToken);
    }

    public async Task SaveReportAsync(StoredReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await using var connection = await OpenAsync(cancellationToken);
        await using var upsert = Command(connection, null, """
            INSERT INTO reports (week, created_at, json, html) VALUES (@week, @at, @json, @html)
            ON CONFLICT (week) DO UPDATE SET created_at = excluded.created_at, json = excluded.json, html = excluded.html
            """, ("week", report.Week), ("at", report.CreatedAt.ToUnixTimeMilliseconds()), ("json", report.Json), ("html", report.Html));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredReport?> GetReportAsync(string week, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT week, created_at, json, html FROM reports WHERE week = @week", ("week", week));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredReport(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3))
            : null;
    }

    public async Task<IReadOnlyList<string>> ReportWeeksAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT week FROM reports ORDER BY week DESC");
        return await ReadAllAsync(command, reader => reader.GetString(0), cancellationToken);
    }

    public async Task<int> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var cutoff = olderThan.ToUnixTimeMilliseconds();
        var removed = 0;
        foreach (var (table, column) in new[] { ("analyses", "at"), ("decisions", "at"), ("requested_analyses", "created_at"), ("reports", "created_at") })
        {
            await using var delete = Command(connection, transaction, $"DELETE FROM {table} WHERE {column} < @cutoff", ("cutoff", cutoff));
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

    public async Task<AnalysisRecord?> GetAnalysisAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {AnalysisColumns} FROM analyses WHERE id = @id", ("id", id.ToString()));
        return (await ReadAllAsync(command, ReadAnalysis, cancellationToken)).SingleOrDefault();
    }

    public async Task SaveRequestedAnalysisAsync(RequestedAnalysis analysis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        await using var connection = await OpenAsync(cancellationToken);
        await using var upsert = Command(connection, null, """
            INSERT INTO requested_analyses (id, service, created_at, updated_at, status, verdict, score, request, result, error, requested_by)
            VALUES (@id, @service, @created, @updated, @status, @verdict, @score, @request, @result, @error, @by)
            ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, status = excluded.status, verdict = excluded.verdict,
                score = excluded.score, result = excluded.result, error = excluded.error
            """, ("id", analysis.Id.ToString()), ("service", analysis.Service), ("created", analysis.CreatedAt.ToUnixTimeMilliseconds()), ("updated", analysis.UpdatedAt.ToUnixTimeMilliseconds()),
            ("status", analysis.Status), ("verdict", analysis.Verdict), ("score", analysis.Score), ("request", analysis.RequestJson), ("result", analysis.ResultJson), ("error", analysis.Error), ("by", analysis.RequestedBy));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<RequestedAnalysis?> GetRequestedAnalysisAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {RequestedColumns} FROM requested_analyses WHERE id = @id", ("id", id.ToString()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRequested(reader) : null;
    }

    public async Task<AnalysisPage> FindRequestedAnalysesAsync(AnalysisQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        if (query.Service is { } service)
        {
            where.Add("service = @service");
            parameters.Add(("service", service));
        }

        if (query.From is { } from)
        {
            where.Add("created_at >= @from");
            parameters.Add(("from", from.ToUnixTimeMilliseconds()));
        }

        if (query.To is { } to)
        {
            where.Add("created_at < @to");
            parameters.Add(("to", to.ToUnixTimeMilliseconds()));
        }

        if (query.Verdict is { } verdict)
        {
            where.Add("verdict = @verdict");
            parameters.Add(("verdict", verdict));
        }

        if (query.After is { } after)
        {
            // Keyset paging, newest first: (created_at, id) below the last row of the page before.
            var parts = after.Split('_', 2);
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var at) || !Guid.TryParse(parts[1], out var id))
            {
                throw new ArgumentException($"\"{after}\" is not a page cursor; pass the \"next\" of the page before", nameof(query));
            }

            where.Add("(created_at < @after_at OR (created_at = @after_at AND id < @after_id))");
            parameters.Add(("after_at", at));
            parameters.Add(("after_id", id.ToString()));
        }

        parameters.Add(("limit", query.Limit + 1));
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {RequestedColumns} FROM requested_analyses{(where.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", where))} ORDER BY created_at DESC, id DESC LIMIT @limit",
            [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<RequestedAnalysis>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(ReadRequested(reader));
        }

        if (items.Count <= query.Limit)
        {
            return new AnalysisPage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        return new AnalysisPage(items, $"{last.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}_{last.Id}");
    }

    public async Task<int> AbandonRunningAnalysesAsync(string reason, DateTimeOffset staleSince, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var update = Command(connection, null,
            "UPDATE requested_analyses SET status = @failed, error = @reason, verdict = NULL, score = NULL, updated_at = @at WHERE status = @running AND updated_at < @stale",
            ("failed", RequestedAnalysis.Failed), ("reason", reason), ("at", time.GetUtcNow().ToUnixTimeMilliseconds()), ("running", RequestedAnalysis.Running),
            ("stale", staleSince.ToUnixTimeMilliseconds()));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task TouchRequestedAnalysisAsync(Guid id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var update = Command(connection, null, "UPDATE requested_analyses SET updated_at = @at WHERE id = @id AND status = @running",
            ("at", at.ToUnixTimeMilliseconds()), ("id", id.ToString()), ("running", RequestedAnalysis.Running));
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> PutConfigAsync(NamedConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        await using var connection = await OpenAsync(cancellationToken);
        (string, object?)[] values = [("name", config.Name), ("body", config.Body), ("at", config.UpdatedAt.ToUnixTimeMilliseconds()), ("by", config.UpdatedBy)];

        // One atomic insert decides who created it (of two concurrent PUTs, exactly one); the other replaces.
        await using (var insert = Command(connection, null, "INSERT INTO named_configs (name, body, updated_at, updated_by) VALUES (@name, @body, @at, @by) ON CONFLICT (name) DO NOTHING", values))
        {
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return true;
            }
        }

        await using var update = Command(connection, null, "UPDATE named_configs SET body = @body, updated_at = @at, updated_by = @by WHERE name = @name", values);
        await update.ExecuteNonQueryAsync(cancellationToken);
        return false;
    }

    public async Task<NamedConfig?> GetConfigAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT name, body, updated_at, updated_by FROM named_configs WHERE name = @name", ("name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadConfig(reader) : null;
    }

    public async Task<IReadOnlyList<NamedConfig>> ListConfigsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT name, body, updated_at, updated_by FROM named_configs ORDER BY name");
        return await ReadAllAsync(command, ReadConfig, cancellationToken);
    }

    public async Task<bool> DeleteConfigAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var delete = Command(connection, null, "DELETE FROM named_configs WHERE name = @name", ("name", name));
        return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private const string AnalysisColumns = "id, rollout_key, at, verdict, score, inconclusive, result, queries";

    private static AnalysisRecord ReadAnalysis(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.GetBoolean(5), reader.GetString(6), reader.GetString(7));

    private const string DecisionColumns = "id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id, revision, commands, fault";

    private static DecisionRecord ReadDecision(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3),
        reader.GetInt32(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.IsDBNull(8) ? null : Guid.Parse(reader.GetString(8)))
    {
        Revision = reader.IsDBNull(9) ? null : reader.GetString(9),
        Commands = reader.IsDBNull(10) ? null : reader.GetString(10),
        Fault = reader.IsDBNull(11) ? null : reader.GetString(11),
    };

    private static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbCommand command, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private const string RequestedColumns = "id, service, created_at, updated_at, status, verdict, score, request, result, error, requested_by";

    private static RequestedAnalysis ReadRequested(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
        reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetDouble(6), reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetString(10));

    private static NamedConfig ReadConfig(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3));

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
