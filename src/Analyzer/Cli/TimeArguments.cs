using System.Globalization;
using System.Text.RegularExpressions;

namespace Canary.Analyzer.Cli;

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
            && TryParseDuration(text[4..], out var offset))
        {
            return text[3] == '-' ? time.GetUtcNow() - offset : time.GetUtcNow() + offset;
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
        return TryParseDuration(text, out var duration) && duration > TimeSpan.Zero
            ? duration
            : throw new InputException($"{flag}: \"{text}\" is not a duration such as 30s, 1m or 1h30m");
    }

    /// <summary>A PromQL duration: units y (365 days), w, d, h, m, s, ms in that order, each at most once.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Duration().Match(text ?? string.Empty);
        if (text is null || text.Length == 0 || !match.Success)
        {
            return false;
        }

        string[] units = ["y", "w", "d", "h", "m", "s", "ms"];
        double[] milliseconds = [365 * 86_400_000.0, 7 * 86_400_000.0, 86_400_000, 3_600_000, 60_000, 1000, 1];
        var total = 0.0;
        for (var i = 0; i < units.Length; i++)
        {
            var group = match.Groups[units[i]];
            if (group.Success)
            {
                total += double.Parse(group.Value, CultureInfo.InvariantCulture) * milliseconds[i];
            }
        }

        if (total > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(total);
        return true;
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

    [GeneratedRegex("^(?:(?<y>[0-9]+)y)?(?:(?<w>[0-9]+)w)?(?:(?<d>[0-9]+)d)?(?:(?<h>[0-9]+)h)?(?:(?<m>[0-9]+)m)?(?:(?<s>[0-9]+)s)?(?:(?<ms>[0-9]+)ms)?$")]
    private static partial Regex Duration();
}
