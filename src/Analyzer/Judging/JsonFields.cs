using System.Globalization;
using System.Text.Json;

namespace Canary.Analyzer.Judging;

/// <summary>
/// Reads typed fields from a JSON object and collects every problem as "path: reason", so a user
/// sees all mistakes of a document at once instead of one per run.
/// </summary>
internal sealed class JsonFields(List<string> problems)
{
    private const int MaxProblems = 50;

    public List<string> Problems { get; } = problems;

    public void Problem(string path, string reason)
    {
        if (Problems.Count < MaxProblems)
        {
            Problems.Add($"{(path.Length == 0 ? "document" : path)}: {reason}");
        }
    }

    /// <summary>True when element is an object; otherwise records the problem. Unknown members are problems too.</summary>
    public bool Object(JsonElement element, string path, params string[] known)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            Problem(path, $"must be an object, got {Describe(element)}");
            return false;
        }

        foreach (var member in element.EnumerateObject())
        {
            if (Array.IndexOf(known, member.Name) < 0)
            {
                Problem(Join(path, member.Name), $"unknown field; expected one of {string.Join(", ", known)}");
            }
        }

        return true;
    }

    public static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    public string String(JsonElement obj, string path, string name, string fallback)
    {
        if (!TryGet(obj, name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Problem(Join(path, name), $"must be a string, got {Describe(value)}");
            return fallback;
        }

        return value.GetString()!;
    }

    public double Number(JsonElement obj, string path, string name, double fallback)
    {
        if (!TryGet(obj, name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            Problem(Join(path, name), $"must be a finite number, got {Describe(value)}");
            return fallback;
        }

        return number;
    }

    public bool Boolean(JsonElement obj, string path, string name, bool fallback)
    {
        if (!TryGet(obj, name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Problem(Join(path, name), $"must be true or false, got {Describe(value)}");
            return fallback;
        }

        return value.GetBoolean();
    }

    /// <summary>An enum written in camelCase ("meanRatio", "increase"); matching ignores case.</summary>
    public TEnum Enum<TEnum>(JsonElement obj, string path, string name, TEnum fallback)
        where TEnum : struct, Enum
    {
        if (!TryGet(obj, name, out var value))
        {
            return fallback;
        }

        var allowed = System.Enum.GetNames<TEnum>().Select(CamelCase).ToArray();
        if (value.ValueKind == JsonValueKind.String && System.Enum.TryParse<TEnum>(value.GetString(), ignoreCase: true, out var parsed)
            && System.Enum.IsDefined(parsed) && !char.IsDigit(value.GetString()![0]))
        {
            return parsed;
        }

        Problem(Join(path, name), $"{Describe(value)} is not one of {string.Join(", ", allowed)}");
        return fallback;
    }

    public static string CamelCase(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>A short rendering of a JSON value for messages: strings quoted, long values cut.</summary>
    public static string Describe(JsonElement value)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => $"\"{value.GetString()}\"",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.Undefined => "nothing",
            _ => value.GetRawText(),
        };
        return Shorten(text);
    }

    /// <summary>Cuts a rendered value to 60 characters, so one bad sample cannot flood the terminal.</summary>
    public static string Shorten(string text) => text.Length > 60 ? string.Concat(text.AsSpan(0, 57), "...") : text;

    public static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
