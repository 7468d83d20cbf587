namespace Canary.Analyzer.Storage;

/// <summary>The evidence history of a rollout: bounded points from the analyses' summaries, streamed in time order.</summary>
internal abstract partial class SqlAnalysisStore
{
    public async Task<IReadOnlyList<EvidencePoint>> EvidenceHistoryAsync(string rolloutKey, DateTimeOffset since, DateTimeOffset until, int maxPoints, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 2);
        var (from, to) = (since.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds());
        await using var connection = await OpenAsync(cancellationToken);
        if (await SpanAsync(connection, "SELECT MIN(at), MAX(at) FROM analyses WHERE rollout_key = @k AND at >= @from AND at <= @to", cancellationToken, ("k", rolloutKey), ("from", from), ("to", to)) is not { } span)
        {
            return [];
        }

        var (first, last) = span;

        // maxPoints equal stretches of time, each drawn at its newest analysis with evidence, unless an older one of the stretch had more
        // metrics at or over their line (a crossing is never thinned away).
        // One stretch fewer than the points: the newest analysis is always the last point.
        var width = Math.Max(1, ((last - first) / (maxPoints - 1)) + 1);
        var points = new List<EvidencePoint>(maxPoints + 1);
        long bucket = -1;
        EvidencePoint? newest = null;
        await using var rows = Sql.Command(connection, null, $"SELECT {SummaryColumns} FROM analyses WHERE rollout_key = @k AND at >= @from AND at <= @to ORDER BY at, id",
            ("k", rolloutKey), ("from", from), ("to", to));
        await using var stream = await rows.ExecuteReaderAsync(cancellationToken);
        while (await stream.ReadAsync(cancellationToken))
        {
            var summary = ReadSummary(stream);
            var metrics = summary.Metrics.Where(m => m.Evidence is not null).ToDictionary(m => m.Name, m => m.Evidence!, StringComparer.Ordinal);
            if (metrics.Count == 0)
            {
                continue;
            }

            var point = new EvidencePoint(summary.At, metrics);
            newest = point;
            var at = (summary.At.ToUnixTimeMilliseconds() - first) / width;
            if (at != bucket)
            {
                bucket = at;
                points.Add(point);
            }
            else if (!LosesACrossing(points[^1], point))
            {
                points[^1] = point;
            }
        }

        if (newest is not null && !ReferenceEquals(points[^1], newest))
        {
            points.Add(newest);
        }

        return points;
    }

    /// <summary>Whether drawing the newer point instead of the older would hide a metric the older has at or over its 1/α line.</summary>
    private static bool LosesACrossing(EvidencePoint older, EvidencePoint newer) =>
        older.Metrics.Any(m => m.Value.EValue * m.Value.Alpha >= 1 && !(newer.Metrics.GetValueOrDefault(m.Key) is { } e && e.EValue * e.Alpha >= 1));

    /// <summary>The first and last time a MIN(at), MAX(at) query finds; null when it finds no row.</summary>
    private static async Task<(long First, long Last)?> SpanAsync(System.Data.Common.DbConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var span = Sql.Command(connection, null, sql, parameters);
        await using var reader = await span.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }
}
