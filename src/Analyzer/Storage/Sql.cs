using System.Data.Common;
using System.Globalization;

namespace Canary.Analyzer.Storage;

/// <summary>ADO.NET plumbing of the SQL store: commands with @name parameters, row reading, keyset page cursors.</summary>
internal static class Sql
{
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
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

    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbCommand command, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Rows read with limit + 1: the page, and the cursor of the next when there was one more.</summary>
    public static Page<T> PageOf<T>(IReadOnlyList<T> rows, int limit, Func<T, (DateTimeOffset At, Guid Id)> key)
    {
        if (rows.Count <= limit)
        {
            return new Page<T>(rows, null);
        }

        var items = rows.Take(limit).ToList();
        var (at, id) = key(items[^1]);
        return new Page<T>(items, $"{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}_{id}");
    }

    /// <summary>The (time, id) a cursor of <see cref="PageOf"/> stands for.</summary>
    /// <exception cref="ArgumentException">The text is not such a cursor.</exception>
    public static (long At, string Id) ParseCursor(string after)
    {
        var parts = after.Split('_', 2);
        return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var at) && Guid.TryParse(parts[1], out var id)
            ? (at, id.ToString())
            : throw new ArgumentException($"\"{Shorten(after)}\" is not a page cursor; pass the \"next\" of the page before", nameof(after));
    }

    public static DateTimeOffset Time(DbDataReader reader, int column) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column));

    public static string? Text(DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    private static string Shorten(string text) => text.Length > 60 ? string.Concat(text.AsSpan(0, 57), "...") : text;
}
