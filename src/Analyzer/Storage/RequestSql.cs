using System.Data.Common;

namespace Canary.Analyzer.Storage;

/// <summary>The SQL of requested analyses (the API's) and of named configs, on an open connection.</summary>
internal static class RequestSql
{
    private const string Columns = "id, service, created_at, updated_at, status, verdict, score, request, result, error, requested_by";

    /// <summary>Inserts, or updates one still Running: a Cancelled (or abandoned, Failed) analysis stays so whatever its runner saves after.</summary>
    public static async Task SaveAsync(DbConnection connection, RequestedAnalysis analysis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        await using var upsert = Sql.Command(connection, null, """
            INSERT INTO requested_analyses (id, service, created_at, updated_at, status, verdict, score, request, result, error, requested_by)
            VALUES (@id, @service, @created, @updated, @status, @verdict, @score, @request, @result, @error, @by)
            ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, status = excluded.status, verdict = excluded.verdict,
                score = excluded.score, result = excluded.result, error = excluded.error
            WHERE requested_analyses.status = @running
            """, ("id", analysis.Id.ToString()), ("service", analysis.Service), ("created", analysis.CreatedAt.ToUnixTimeMilliseconds()), ("updated", analysis.UpdatedAt.ToUnixTimeMilliseconds()),
            ("status", analysis.Status), ("verdict", analysis.Verdict), ("score", analysis.Score), ("request", analysis.RequestJson), ("result", analysis.ResultJson), ("error", analysis.Error),
            ("by", analysis.RequestedBy), ("running", RequestedAnalysis.Running));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<RequestedAnalysis?> GetAsync(DbConnection connection, Guid id, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, null, $"SELECT {Columns} FROM requested_analyses WHERE id = @id", ("id", id.ToString()));
        return (await Sql.ReadAllAsync(command, Read, cancellationToken)).SingleOrDefault();
    }

    /// <exception cref="ArgumentException">query.After is not a cursor this store gave.</exception>
    public static async Task<Page<RequestedAnalysis>> FindAsync(DbConnection connection, AnalysisQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        void Add(string condition, string name, object value)
        {
            where.Add(condition);
            parameters.Add((name, value));
        }

        if (query.Service is { } service)
        {
            Add("service = @service", "service", service);
        }

        if (query.From is { } from)
        {
            Add("created_at >= @from", "from", from.ToUnixTimeMilliseconds());
        }

        if (query.To is { } to)
        {
            Add("created_at < @to", "to", to.ToUnixTimeMilliseconds());
        }

        if (query.Verdict is { } verdict)
        {
            Add("verdict = @verdict", "verdict", verdict);
        }

        if (query.After is { } after)
        {
            // Keyset paging, newest first: (created_at, id) below the last row of the page before.
            var (at, id) = Sql.ParseCursor(after);
            Add("(created_at < @after_at OR (created_at = @after_at AND id < @after_id))", "after_at", at);
            parameters.Add(("after_id", id));
        }

        parameters.Add(("limit", query.Limit + 1));
        await using var command = Sql.Command(connection, null,
            $"SELECT {Columns} FROM requested_analyses{(where.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", where))} ORDER BY created_at DESC, id DESC LIMIT @limit",
            [.. parameters]);
        return Sql.PageOf(await Sql.ReadAllAsync(command, Read, cancellationToken), query.Limit, a => (a.CreatedAt, a.Id));
    }

    public static async Task<int> AbandonAsync(DbConnection connection, string reason, DateTimeOffset now, DateTimeOffset staleSince, CancellationToken cancellationToken)
    {
        await using var update = Sql.Command(connection, null,
            "UPDATE requested_analyses SET status = @failed, error = @reason, verdict = NULL, score = NULL, updated_at = @at WHERE status = @running AND updated_at < @stale",
            ("failed", RequestedAnalysis.Failed), ("reason", reason), ("at", now.ToUnixTimeMilliseconds()), ("running", RequestedAnalysis.Running),
            ("stale", staleSince.ToUnixTimeMilliseconds()));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<bool> TouchAsync(DbConnection connection, Guid id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var update = Sql.Command(connection, null, "UPDATE requested_analyses SET updated_at = @at WHERE id = @id AND status = @running",
            ("at", at.ToUnixTimeMilliseconds()), ("id", id.ToString()), ("running", RequestedAnalysis.Running));
        return await update.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public static async Task<bool> CancelAsync(DbConnection connection, Guid id, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var update = Sql.Command(connection, null,
            "UPDATE requested_analyses SET status = @cancelled, error = @reason, verdict = NULL, score = NULL, updated_at = @at WHERE id = @id AND status = @running",
            ("cancelled", RequestedAnalysis.Cancelled), ("reason", reason), ("at", at.ToUnixTimeMilliseconds()), ("id", id.ToString()), ("running", RequestedAnalysis.Running));
        return await update.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Creates or replaces a named config; true when it was created.</summary>
    public static async Task<bool> PutConfigAsync(DbConnection connection, NamedConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        (string, object?)[] values = [("name", config.Name), ("body", config.Body), ("at", config.UpdatedAt.ToUnixTimeMilliseconds()), ("by", config.UpdatedBy)];

        // One atomic insert decides who created it (of two concurrent PUTs, exactly one); the other replaces.
        await using (var insert = Sql.Command(connection, null, "INSERT INTO named_configs (name, body, updated_at, updated_by) VALUES (@name, @body, @at, @by) ON CONFLICT (name) DO NOTHING", values))
        {
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return true;
            }
        }

        await using var update = Sql.Command(connection, null, "UPDATE named_configs SET body = @body, updated_at = @at, updated_by = @by WHERE name = @name", values);
        await update.ExecuteNonQueryAsync(cancellationToken);
        return false;
    }

    /// <summary>The config of that name, or (name null) every config by name.</summary>
    public static async Task<IReadOnlyList<NamedConfig>> ConfigsAsync(DbConnection connection, string? name, CancellationToken cancellationToken)
    {
        await using var command = name is null
            ? Sql.Command(connection, null, "SELECT name, body, updated_at, updated_by FROM named_configs ORDER BY name")
            : Sql.Command(connection, null, "SELECT name, body, updated_at, updated_by FROM named_configs WHERE name = @name", ("name", name));
        return await Sql.ReadAllAsync(command, r => new NamedConfig(r.GetString(0), r.GetString(1), Sql.Time(r, 2), r.GetString(3)), cancellationToken);
    }

    private static RequestedAnalysis Read(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), Sql.Time(reader, 2), Sql.Time(reader, 3),
        reader.GetString(4), Sql.Text(reader, 5), reader.IsDBNull(6) ? null : reader.GetDouble(6), reader.GetString(7),
        Sql.Text(reader, 8), Sql.Text(reader, 9), reader.GetString(10));
}
