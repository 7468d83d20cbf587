using Canary.Judge.Sequential;

namespace Canary.Judge.Tests.Sequential;

/// <summary>
/// Identical versions, judged after every interval: 10,000 seeded streams of Poisson traffic at
/// 20 requests/s with 1 % errors, the canary at 5, 10, 25 and 50 % for three one-minute intervals
/// each, and traffic that swings by a factor of three between intervals (diurnal) with a burst that
/// hits both cohorts. Ville's inequality bounds the chance of ever crossing by α.
/// </summary>
public sealed class AaCrossingTests
{
    private const int Streams = 10_000;

    [Theory]
    [InlineData(SequentialSide.Increase)]
    [InlineData(SequentialSide.Either)]
    public void Identical_versions_cross_at_most_alpha_over_every_look(SequentialSide side)
    {
        var test = new SequentialTest(0.01, side);
        var random = new Random(20261201);
        var crossed = 0;
        for (var stream = 0; stream < Streams; stream++)
        {
            var intervals = new List<CountInterval>();
            foreach (var weight in new[] { 0.05, 0.10, 0.25, 0.50 })
            {
                for (var minute = 0; minute < 3; minute++)
                {
                    var traffic = 20 * 60 * (1 + (2 * random.NextDouble()));
                    var errorRate = random.NextDouble() < 0.1 ? 0.2 : 0.01;
                    var (baseline, canary) = (Poisson(random, traffic * (1 - weight)), Poisson(random, traffic * weight));
                    intervals.Add(new CountInterval(Binomial(random, baseline, errorRate), baseline, Binomial(random, canary, errorRate), canary));
                    if (CountSequence.Evidence(intervals, test) >= test.Threshold)
                    {
                        crossed++;
                        goto next;
                    }
                }
            }

        next:;
        }

        // Wilson's 95 % interval of the crossing rate: its lower end at most α.
        var rate = crossed / (double)Streams;
        var z = 1.96;
        var centre = (rate + (z * z / (2 * Streams))) / (1 + (z * z / Streams));
        var half = z * Math.Sqrt((rate * (1 - rate) / Streams) + (z * z / (4.0 * Streams * Streams))) / (1 + (z * z / Streams));
        Assert.True(centre - half <= test.Alpha, $"{crossed} of {Streams} streams crossed ({rate:P2}; 95 % interval {centre - half:P2} … {centre + half:P2})");
        // And clearly below α, not just within noise of it: Ville's bound is loose for these data, so a true rate near α would mean a broken e-process.
        Assert.True(centre + half <= test.Alpha / 2, $"{crossed} of {Streams} streams crossed ({rate:P2}; 95 % interval {centre - half:P2} … {centre + half:P2})");
    }

    private static long Poisson(Random random, double mean)
    {
        // Normal approximation with continuity for large means (all here are ≥ 60): the test needs Poisson-like traffic, not exact Poisson draws.
        var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return Math.Max(0, (long)Math.Round(mean + (Math.Sqrt(mean) * normal)));
    }

    private static long Binomial(Random random, long n, double p)
    {
        long hits = 0;
        for (var i = 0; i < n; i++)
        {
            if (random.NextDouble() < p)
            {
                hits++;
            }
        }

        return hits;
    }
}
