using System.Globalization;
using System.Text.RegularExpressions;

namespace Canary.Analyzer.Documents;

/// <summary>
/// Times and durations as users type them: RFC 3339 ("2026-11-28T10:00:00Z"), unix seconds
/// ("1764324000" or with a fraction), "now", "now-30m" or "now+5m"; durations as in PromQL (30s, 1m, 1h30m).
/// </summary>
internal static partial class TimeArguments
{
    /// <exception cref="InputException">The text is none of the accepted forms; the message names the flag.</exception>
    public static DateTimeOffset ParseTime(string flag, string text, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "now")
        {
            return time.GetUtcNow();
        }

        if (text.StartsWith("now", StringComparison.Ordinal) && text.Length > 4 && text[3] is '-' or '+'
            && Durations.TryParse(text[4..], out var offset))
        {
            var now = time.GetUtcNow();
            var reachable = text[3] == '-' ? now - DateTimeOffset.UnixEpoch >= offset : DateTimeOffset.MaxValue - now > offset;
            return !reachable
                ? throw new InputException($"{flag}: \"{text}\" is out of range: times run from 1970 on")
                : text[3] == '-' ? now - offset : now + offset;
        }

        if (UnixSeconds().IsMatch(text) && decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            && seconds <= 253402300799m)
        {
            return DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
        }

        if (Rfc3339().IsMatch(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            return parsed.ToUniversalTime();
        }

        throw new InputException($"{flag}: \"{text}\" is not a time: use RFC 3339 (2026-11-28T10:00:00Z), unix seconds, now, or now-DURATION such as now-30m");
    }

    /// <exception cref="InputException">The text is not a positive PromQL duration.</exception>
    public static TimeSpan ParseDuration(string flag, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Durations.TryParse(text, out var duration)
            ? duration
            : throw new InputException($"{flag}: \"{text}\" is not a duration such as 30s, 1m or 1h30m (above 0, at most 100y)");
    }

    /// <summary>Writes a duration the way PromQL reads it: 1h30m, 45s, 500ms.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new System.Text.StringBuilder();
        var rest = duration;
        foreach (var (unit, size) in new[] { ("d", TimeSpan.FromDays(1)), ("h", TimeSpan.FromHours(1)), ("m", TimeSpan.FromMinutes(1)), ("s", TimeSpan.FromSeconds(1)), ("ms", TimeSpan.FromMilliseconds(1)) })
        {
            var count = (long)(rest / size);
            if (count > 0)
            {
                text.Append(count.ToString(CultureInfo.InvariantCulture)).Append(unit);
                rest -= size * count;
            }
        }

        return text.ToString();
    }

    [GeneratedRegex(@"^[0-9]{1,12}(\.[0-9]{1,9})?$")]
    private static partial Regex UnixSeconds();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$")]
    private static partial Regex Rfc3339();

}
