using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Canary.Analyzer.Storage;

/// <summary>
/// The store over ADO.NET, the same SQL for SQLite and PostgreSQL (both read @name parameters and
/// ON CONFLICT upserts); times are unix milliseconds, documents are JSON text. The schema is in
/// <see cref="StoreSchema"/>; requested analyses and named configs in <see cref="RequestSql"/>.
/// Every list is a page of at most <see cref="PageRequest.MaxLimit"/> rows, newest first.
/// </summary>
internal abstract partial class SqlAnalysisStore(TimeProvider? time = null) : IAnalysisStore
{
    private readonly TimeProvider time = time ?? TimeProvider.System;

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private const string AnalysisColumns = "id, rollout_key, at, verdict, score, inconclusive, result, queries";

    // The result is read only for rows kept before the summary column (schema 4).
    private const string SummaryColumns = "id, rollout_key, at, verdict, score, inconclusive, summary, CASE WHEN summary IS NULL THEN result END";

    private const string DecisionColumns = "id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id, revision, commands, fault, command_id, warnings";

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => StoreSchema.Version;

    public abstract string Description { get; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Checks the store before it is migrated (SQLite: the file is one canary may use).</summary>
    /// <exception cref="StoreException">It is not.</exception>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>SQL that makes replicas starting together migrate one after the other (and its release); null when the database does it itself.</summary>
    protected virtual (string Lock, string Unlock)? MigrationLock => null;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            if (MigrationLock is { } serialized)
            {
                await Sql.ExecuteAsync(connection, null, serialized.Lock, cancellationToken);
            }

            try
            {
                await StoreSchema.MigrateAsync(connection, Description, time.GetUtcNow(), cancellationToken);
            }
            finally
            {
                if (MigrationLock is { } release)
                {
                    await Sql.ExecuteAsync(connection, null, release.Unlock, CancellationToken.None);
                }
            }
        }
        catch (DbException e)
        {
            throw new StoreException(Description, $"cannot be opened or migrated: {e.Message}", e);
        }
    }

    public async Task<StoredRollout?> GetRolloutAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, "SELECT rollout_key, state, updated_at, version, applied_commands FROM rollouts WHERE rollout_key = @k", ("k", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRollout(reader) : null;
    }

    public async Task<IReadOnlyList<StoredRollout>> ListRolloutsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, "SELECT rollout_key, state, updated_at, version, applied_commands FROM rollouts ORDER BY rollout_key");
        return await Sql.ReadAllAsync(command, ReadRollout, cancellationToken);
    }

    public async Task<long> SaveTickAsync(TickRecord tick, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tick);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long version;
        long? stored;
        await using (var current = Sql.Command(connection, transaction, "SELECT version FROM rollouts WHERE rollout_key = @k", ("k", tick.RolloutKey)))
        {
            var found = await current.ExecuteScalarAsync(cancellationToken);
            stored = found is null or DBNull ? null : Convert.ToInt64(found, CultureInfo.InvariantCulture);
            if (tick.ExpectedVersion is { } expected && stored != expected)
            {
                throw new StaleRolloutException($"rollout {tick.RolloutKey} is at version {stored?.ToString(CultureInfo.InvariantCulture) ?? "none"}, not {expected}: another replica decided first");
            }

            version = (stored ?? 0) + 1;
        }

        var at = tick.Decision.At.ToUnixTimeMilliseconds();
        // The write happens only if the row is still at the version read (or still absent): another transaction that wrote it
        // meanwhile (PostgreSQL's read committed lets two read the same version) makes this one stale, never a silent overwrite.
        await using (var upsert = Sql.Command(connection, transaction, """
            INSERT INTO rollouts (rollout_key, state, phase, updated_at, version, applied_commands) VALUES (@k, @s, @p, @at, @v, @applied)
            ON CONFLICT (rollout_key) DO UPDATE SET state = excluded.state, phase = excluded.phase, updated_at = excluded.updated_at, version = excluded.version,
                applied_commands = COALESCE(excluded.applied_commands, rollouts.applied_commands)
            WHERE rollouts.version = @read
            """, ("k", tick.RolloutKey), ("s", tick.State), ("p", tick.Decision.Phase), ("at", at), ("v", version),
            ("applied", tick.AppliedCommands is null ? null : JsonSerializer.Serialize(tick.AppliedCommands, Json)), ("read", stored)))
        {
            if (await upsert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new StaleRolloutException($"rollout {tick.RolloutKey} was written by another transaction while this tick was stored: another replica decided first");
            }
        }

        if (tick.Analysis is { } a)
        {
            await using var insert = Sql.Command(connection, transaction, """
                INSERT INTO analyses (id, rollout_key, at, verdict, score, inconclusive, result, queries, summary) VALUES (@id, @k, @at, @verdict, @score, @inconclusive, @result, @queries, @summary)
                """, ("id", a.Id.ToString()), ("k", a.RolloutKey), ("at", a.At.ToUnixTimeMilliseconds()), ("verdict", a.Verdict), ("score", a.Score), ("inconclusive", a.Inconclusive), ("result", a.ResultJson), ("queries", a.QueriesJson),
                ("summary", AnalysisSummary.Summarize(a.ResultJson)));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        var d = tick.Decision;
        DecisionRecord? previous;
        await using (var last = Sql.Command(connection, transaction, $"SELECT {DecisionColumns} FROM decisions WHERE rollout_key = @k ORDER BY at DESC, id DESC LIMIT 1", ("k", tick.RolloutKey)))
        {
            previous = (await Sql.ReadAllAsync(last, ReadDecision, cancellationToken)).SingleOrDefault();
        }

        if (!d.Repeats(previous))
        {
            await using var insert = Sql.Command(connection, transaction, """
                INSERT INTO decisions (id, rollout_key, at, phase, canary_weight, verdict, reason, actions, analysis_id, revision, commands, fault, command_id, warnings)
                VALUES (@id, @k, @at, @phase, @weight, @verdict, @reason, @actions, @analysis, @revision, @commands, @fault, @command, @warnings)
                """, ("id", d.Id.ToString()), ("k", d.RolloutKey), ("at", at), ("phase", d.Phase), ("weight", d.CanaryWeight), ("verdict", d.Verdict), ("reason", d.Reason), ("actions", d.ActionsJson),
                ("analysis", d.AnalysisId?.ToString()), ("revision", d.Revision), ("commands", d.Commands), ("fault", d.Fault),
                ("command", d.CommandId), ("warnings", d.Warnings));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<Page<AnalysisRecord>> AnalysesAsync(string rolloutKey, PageRequest page, CancellationToken cancellationToken) =>
        Sql.PageOf(await NewestAsync("analyses", AnalysisColumns, rolloutKey, page, ReadAnalysis, cancellationToken), page.Limit, a => (a.At, a.Id));

    public async Task<Page<AnalysisSummary>> AnalysisSummariesAsync(string rolloutKey, PageRequest page, CancellationToken cancellationToken) =>
        Sql.PageOf(await NewestAsync("analyses", SummaryColumns, rolloutKey, page, ReadSummary, cancellationToken), page.Limit, a => (a.At, a.Id));

    public async Task<Page<DecisionRecord>> DecisionsAsync(string rolloutKey, PageRequest page, CancellationToken cancellationToken) =>
        Sql.PageOf(await NewestAsync("decisions", DecisionColumns, rolloutKey, page, ReadDecision, cancellationToken), page.Limit, d => (d.At, d.Id));

    public async Task<IReadOnlyList<WeightPoint>> WeightHistoryAsync(string rolloutKey, int maxPoints, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 2);
        await using var connection = await OpenAsync(cancellationToken);
        if (await SpanAsync(connection, "SELECT MIN(at), MAX(at) FROM decisions WHERE rollout_key = @k", cancellationToken, ("k", rolloutKey)) is not { } span)
        {
            return [];
        }

        var (first, last) = span;

        // maxPoints equal stretches of time, each drawn at its first decision with its highest weight (a short step up stays visible).
        // The rows stream in time order from the index: memory holds the points, never the history.
        var width = Math.Max(1, ((last - first) / maxPoints) + 1);
        var points = new List<WeightPoint>(maxPoints + 1);
        long bucket = -1;
        await using var rows = Sql.Command(connection, null, "SELECT at, canary_weight FROM decisions WHERE rollout_key = @k ORDER BY at", ("k", rolloutKey));
        await using var stream = await rows.ExecuteReaderAsync(cancellationToken);
        while (await stream.ReadAsync(cancellationToken))
        {
            var (at, weight) = (stream.GetInt64(0), stream.GetInt32(1));
            if ((at - first) / width != bucket)
            {
                bucket = (at - first) / width;
                points.Add(new WeightPoint(DateTimeOffset.FromUnixTimeMilliseconds(at), weight));
            }
            else if (weight > points[^1].Weight)
            {
                points[^1] = points[^1] with { Weight = weight };
            }
        }

        return points;
    }

    public async Task<IReadOnlyList<DecisionRecord>> DecisionsBetweenAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, $"SELECT {DecisionColumns} FROM decisions WHERE at >= @from AND at < @to ORDER BY rollout_key, at, id",
            ("from", since.ToUnixTimeMilliseconds()), ("to", until.ToUnixTimeMilliseconds()));
        return await Sql.ReadAllAsync(command, ReadDecision, cancellationToken);
    }

    public async Task<IReadOnlyList<AnalysisRecord>> AnalysesBetweenAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, $"SELECT {AnalysisColumns} FROM analyses WHERE at >= @from AND at < @to ORDER BY rollout_key, at, id",
            ("from", since.ToUnixTimeMilliseconds()), ("to", until.ToUnixTimeMilliseconds()));
        return await Sql.ReadAllAsync(command, ReadAnalysis, cancellationToken);
    }

    public async Task SaveReportAsync(StoredReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await using var connection = await OpenAsync(cancellationToken);
        await using var upsert = Sql.Command(connection, null, """
            INSERT INTO reports (week, created_at, json, html) VALUES (@week, @at, @json, @html)
            ON CONFLICT (week) DO UPDATE SET created_at = excluded.created_at, json = excluded.json, html = excluded.html
            """, ("week", report.Week), ("at", report.CreatedAt.ToUnixTimeMilliseconds()), ("json", report.Json), ("html", report.Html));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredReport?> GetReportAsync(string week, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, "SELECT week, created_at, json, html FROM reports WHERE week = @week", ("week", week));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoredReport(reader.GetString(0), Sql.Time(reader, 1), reader.GetString(2), reader.GetString(3)) : null;
    }

    public async Task<IReadOnlyList<string>> ReportWeeksAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, "SELECT week FROM reports ORDER BY week DESC");
        return await Sql.ReadAllAsync(command, reader => reader.GetString(0), cancellationToken);
    }

    public async Task<int> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var cutoff = olderThan.ToUnixTimeMilliseconds();
        var removed = 0;
        foreach (var (table, column) in new[] { ("analyses", "at"), ("decisions", "at"), ("requested_analyses", "created_at"), ("reports", "created_at") })
        {
            await using var delete = Sql.Command(connection, transaction, $"DELETE FROM {table} WHERE {column} < @cutoff", ("cutoff", cutoff));
            removed += await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    public async Task DeleteRolloutAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var delete = Sql.Command(connection, null, "DELETE FROM rollouts WHERE rollout_key = @k", ("k", key));
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<AnalysisRecord?> GetAnalysisAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, $"SELECT {AnalysisColumns} FROM analyses WHERE id = @id", ("id", id.ToString()));
        return (await Sql.ReadAllAsync(command, ReadAnalysis, cancellationToken)).SingleOrDefault();
    }

    public async Task SaveRequestedAnalysisAsync(RequestedAnalysis analysis, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await RequestSql.SaveAsync(connection, analysis, cancellationToken);
    }

    public async Task<RequestedAnalysis?> GetRequestedAnalysisAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.GetAsync(connection, id, cancellationToken);
    }

    public async Task<Page<RequestedAnalysis>> FindRequestedAnalysesAsync(AnalysisQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.FindAsync(connection, query, cancellationToken);
    }

    public async Task<int> AbandonRunningAnalysesAsync(string reason, DateTimeOffset staleSince, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.AbandonAsync(connection, reason, time.GetUtcNow(), staleSince, cancellationToken);
    }

    public async Task<bool> TouchRequestedAnalysisAsync(Guid id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.TouchAsync(connection, id, at, cancellationToken);
    }

    public async Task<bool> CancelRequestedAnalysisAsync(Guid id, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.CancelAsync(connection, id, reason, at, cancellationToken);
    }

    public async Task<bool> PutConfigAsync(NamedConfig config, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.PutConfigAsync(connection, config, cancellationToken);
    }

    public async Task<NamedConfig?> GetConfigAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return (await RequestSql.ConfigsAsync(connection, name, cancellationToken)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<NamedConfig>> ListConfigsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RequestSql.ConfigsAsync(connection, null, cancellationToken);
    }

    public async Task<bool> DeleteConfigAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var delete = Sql.Command(connection, null, "DELETE FROM named_configs WHERE name = @name", ("name", name));
        return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>limit + 1 rows of a rollout's table, newest first, below the cursor.</summary>
    private async Task<IReadOnlyList<T>> NewestAsync<T>(string table, string columns, string rolloutKey, PageRequest page, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfLessThan(page.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(page.Limit, PageRequest.MaxLimit);
        var below = string.Empty;
        var parameters = new List<(string, object?)> { ("k", rolloutKey), ("limit", page.Limit + 1) };
        if (page.After is { } after)
        {
            var (at, id) = Sql.ParseCursor(after);
            below = " AND (at < @after_at OR (at = @after_at AND id < @after_id))";
            parameters.Add(("after_at", at));
            parameters.Add(("after_id", id));
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, null, $"SELECT {columns} FROM {table} WHERE rollout_key = @k{below} ORDER BY at DESC, id DESC LIMIT @limit", [.. parameters]);
        return await Sql.ReadAllAsync(command, read, cancellationToken);
    }

    private static AnalysisRecord ReadAnalysis(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), Sql.Time(reader, 2), reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.GetBoolean(5), reader.GetString(6), reader.GetString(7));

    private static AnalysisSummary ReadSummary(DbDataReader reader) => AnalysisSummary.FromRow(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), Sql.Time(reader, 2), reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.GetBoolean(5), Sql.Text(reader, 6), Sql.Text(reader, 7));

    private static DecisionRecord ReadDecision(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), Sql.Time(reader, 2), reader.GetString(3),
        reader.GetInt32(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.IsDBNull(8) ? null : Guid.Parse(reader.GetString(8)))
    {
        Revision = Sql.Text(reader, 9),
        Commands = Sql.Text(reader, 10),
        Fault = Sql.Text(reader, 11),
        CommandId = Sql.Text(reader, 12),
        Warnings = Sql.Text(reader, 13),
    };

    private static StoredRollout ReadRollout(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        Sql.Time(reader, 2),
        reader.GetInt64(3))
    {
        AppliedCommands = Sql.Text(reader, 4) is { } applied ? JsonSerializer.Deserialize<List<AppliedCommand>>(applied, Json) ?? [] : [],
    };
}
