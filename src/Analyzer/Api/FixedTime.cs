namespace Canary.Analyzer.Api;

/// <summary>A clock stopped at one instant: what "now" means for all of one request (now-7d to now is exactly 7 days).</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
