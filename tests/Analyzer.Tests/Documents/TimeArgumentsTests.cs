using Canary.Analyzer.Documents;
using Microsoft.Extensions.Time.Testing;

namespace Canary.Analyzer.Tests.Documents;

/// <summary>Times and durations as flags and request fields take them (--start now-30m, --step 30s).</summary>
public sealed class TimeArgumentsTests
{
    [Theory]
    [InlineData("now", "2026-11-28T10:00:00.0000000+00:00")]
    [InlineData("now-30m", "2026-11-28T09:30:00.0000000+00:00")]
    [InlineData("now+1h30m", "2026-11-28T11:30:00.0000000+00:00")]
    [InlineData("2026-11-27T08:15:00Z", "2026-11-27T08:15:00.0000000+00:00")]
    [InlineData("2026-11-27T09:15:00.5+01:00", "2026-11-27T08:15:00.5000000+00:00")]
    [InlineData("1764324000", "2025-11-28T10:00:00.0000000+00:00")]
    [InlineData("1764324000.25", "2025-11-28T10:00:00.2500000+00:00")]
    public void Times_are_read_in_every_documented_form(string text, string expected)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        Assert.Equal(expected, TimeArguments.ParseTime("--start", text, clock).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("now-")]
    [InlineData("now-30x")]
    [InlineData("2026-11-27")]
    [InlineData("2026-11-27T08:15:00")]
    [InlineData("-5")]
    public void Anything_else_is_not_a_time(string text)
    {
        var e = Assert.Throws<InputException>(() => TimeArguments.ParseTime("--end", text, TimeProvider.System));
        Assert.StartsWith($"--end: \"{text}\" is not a time", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("500ms", 500)]
    [InlineData("1d", 86_400_000)]
    public void Durations_read_as_PromQL_writes_them(string text, double milliseconds)
    {
        Assert.Equal(milliseconds, TimeArguments.ParseDuration("--step", text).TotalMilliseconds);
    }

    [Theory]
    [InlineData("30s")]
    [InlineData("1h30m")]
    [InlineData("500ms")]
    [InlineData("1d")]
    public void Durations_print_back_as_they_were_written(string text)
    {
        Assert.Equal(text, TimeArguments.Format(TimeArguments.ParseDuration("--step", text)));
    }
}
