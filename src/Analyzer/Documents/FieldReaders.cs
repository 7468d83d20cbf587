namespace Canary.Analyzer.Documents;

/// <summary>Reads fields of a document that every reader needs alike (whole numbers in a range, durations), each problem named by its path.</summary>
internal static class FieldReaders
{
    public static int Integer(DocumentNode node, string path, string name, int fallback, int min, int max, DocumentFields fields)
    {
        if (fields.Get(node, path, name) is not { } value)
        {
            return fallback;
        }

        if (!value.TryGetNumber(out var number) || number != Math.Floor(number) || number < min || number > max)
        {
            fields.Problem(value, $"{path}.{name}", $"must be a whole number from {min} to {max}, got {value.Describe()}");
            return fallback;
        }

        return (int)number;
    }

    public static TimeSpan Duration(DocumentNode node, string path, string name, TimeSpan fallback, DocumentFields fields, bool allowZero = false)
    {
        if (fields.Get(node, path, name) is not { } value)
        {
            return fallback;
        }

        if (allowZero && value.Text is "0" or "0s")
        {
            return TimeSpan.Zero;
        }

        if (value.Kind != NodeKind.String || !Durations.TryParse(value.Text, out var duration))
        {
            fields.Problem(value, $"{path}.{name}", $"{value.Describe()} is not a duration such as 30s, 1m or 1h30m");
            return fallback;
        }

        return duration;
    }
}
