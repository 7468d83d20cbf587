using System.Text.RegularExpressions;

namespace Canary.Analyzer.Documents;

/// <summary>Durations as canary's documents and flags write them: PromQL's form (30s, 10m, 1h30m, 500ms).</summary>
internal static partial class Durations
{
    /// <summary>
    /// A positive PromQL duration: units y (365 days), w, d, h, m, s, ms in that order, each at most
    /// once, at most 100 years (Prometheus's own limit is about 292).
    /// </summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = text is { Length: > 0 } ? Parts().Match(text) : Match.Empty;
        if (!match.Success)
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
                total += double.Parse(group.Value, System.Globalization.CultureInfo.InvariantCulture) * milliseconds[i];
            }
        }

        if (!(total > 0 && total <= 100 * milliseconds[0]))
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }

    [GeneratedRegex("^(?:(?<y>[0-9]{1,6})y)?(?:(?<w>[0-9]{1,6})w)?(?:(?<d>[0-9]{1,6})d)?(?:(?<h>[0-9]{1,9})h)?(?:(?<m>[0-9]{1,9})m)?(?:(?<s>[0-9]{1,12})s)?(?:(?<ms>[0-9]{1,15})ms)?\\z")]
    private static partial Regex Parts();
}
