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
        var width = Math.Max(1, ((last - first) / maxPoints) + 1);
        var points = new List<EvidencePoint>(maxPoints + 1);
        long bucket = -1;
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
            var at = (summary.At.ToUnixTimeMilliseconds() - first) / width;
            if (at != bucket)
            {
                bucket = at;
                points.Add(point);
            }
            else if (Crossed(point) >= Crossed(points[^1]))
            {
                points[^1] = point;
            }
        }

        return points;
    }

    private static int Crossed(EvidencePoint point) => point.Metrics.Values.Count(e => e.EValue * e.Alpha >= 1);

    /// <summary>The first and last time a MIN(at), MAX(at) query finds; null when it finds no row.</summary>
    private static async Task<(long First, long Last)?> SpanAsync(System.Data.Common.DbConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var span = Sql.Command(connection, null, sql, parameters);
        await using var reader = await span.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }
}
