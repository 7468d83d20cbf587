using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace Canary.Analyzer.Simulation;

/// <summary>
/// A <see cref="Random"/> over SplitMix64 that is re-seeded for every scrape interval, so rules
/// that hold the same weights see the very same requests ("the same streams"), whatever each drew
/// before. Not for anything secret: it only models traffic.
/// </summary>
internal sealed class StreamRandom : Random
{
    private ulong state;

    public void Reseed(ulong seed) => state = seed;

    /// <summary>One seed from several parts (SplitMix64's finaliser over each, Steele, Lea and Flood 2014).</summary>
    public static ulong Mix(ulong seed, ulong a, ulong b = 0, ulong c = 0)
    {
        var h = seed;
        foreach (var part in (ReadOnlySpan<ulong>)[a, b, c])
        {
            h = Finalise(h ^ (part + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2)));
        }

        return h;
    }

    public override double NextDouble() => Sample();

    public override int Next() => (int)(NextUInt64() >> 33);

    public override int Next(int maxValue) => (int)(Sample() * maxValue);

    public override int Next(int minValue, int maxValue) => minValue + (int)(Sample() * ((long)maxValue - minValue));

    public override void NextBytes(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        NextBytes(buffer.AsSpan());
    }

    public override void NextBytes(Span<byte> buffer)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (byte)(NextUInt64() >> 56);
        }
    }

    protected override double Sample() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private ulong NextUInt64()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Finalise(state);
    }

    private static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>What one cohort served so far: requests, failed requests, and requests per latency bucket (not cumulative).</summary>
internal sealed class CohortCounters(int buckets)
{
    public long Requests { get; set; }

    public long Errors { get; set; }

    public long[] Buckets { get; } = new long[buckets];
}

/// <summary>
/// The traffic of one scenario from the counters up: requests arrive as a Poisson process (its
/// rate flat, swinging over the day, or gamma-distributed per scrape interval), each goes to the
/// canary with the canary's weight, fails with its cohort's probability and lasts a log-normal
/// time. Split this way, the requests of each cohort, outcome and latency bucket in one scrape
/// interval are independent Poisson counts (thinning), drawn as such.
/// </summary>
internal sealed class TrafficModel
{
    private readonly Scenario scenario;
    private readonly double[] baseline;
    private readonly double[] canary;

    public TrafficModel(Scenario scenario, IReadOnlyList<double> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        this.scenario = scenario;
        Edges = edges;
        baseline = Shares(edges, scenario.LatencyMedian, scenario.LatencySigma);
        canary = Shares(edges, scenario.LatencyMedian * scenario.CanaryLatency, scenario.LatencySigma);
    }

    /// <summary>The finite bucket edges (seconds); the last bucket is +Inf.</summary>
    public IReadOnlyList<double> Edges { get; }

    /// <summary>Where in its day a rollout starts (diurnal traffic), from the rollout's own stream.</summary>
    public static double DayPhase(ulong seed) => (seed >> 11) * (1.0 / (1UL << 53));

    /// <summary>The mean request rate at this time of the rollout (before bursts).</summary>
    public double Rate(TimeSpan sinceStart, double dayPhase) => scenario.Traffic == TrafficShape.Diurnal
        ? scenario.Requests * (1 + (scenario.Amplitude * Math.Sin(2 * Math.PI * (dayPhase + (sinceStart.TotalHours / 24)))))
        : scenario.Requests;

    /// <summary>The requests of one scrape interval for both cohorts, added to their counters.</summary>
    public void Serve(StreamRandom random, TimeSpan sinceStart, double seconds, double dayPhase, int canaryWeight, CohortCounters primary, CohortCounters canaryCounters)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(canaryCounters);
        var rate = Rate(sinceStart, dayPhase);
        if (scenario.Traffic == TrafficShape.Bursty)
        {
            // A gamma factor of mean 1 and the scenario's coefficient of variation: one for both cohorts (the traffic is shared).
            var shape = 1 / (scenario.Burstiness * scenario.Burstiness);
            rate *= Gamma.Sample(random, shape, shape);
        }

        var errors = scenario.Burst is { } burst && sinceStart >= burst.At && sinceStart < burst.At + burst.For ? burst.Errors : scenario.Errors;
        var requests = rate * seconds;
        var toCanary = canaryWeight / 100.0;
        Add(random, requests * (1 - toCanary), errors, baseline, primary);
        Add(random, requests * toCanary, Math.Min(1, errors * scenario.CanaryErrors), canary, canaryCounters);
    }

    private static void Add(StreamRandom random, double mean, double errors, double[] shares, CohortCounters counters)
    {
        for (var b = 0; b < shares.Length; b++)
        {
            var cell = mean * shares[b];
            var ok = Draw(random, cell * (1 - errors));
            var failed = Draw(random, cell * errors);
            counters.Buckets[b] += ok + failed;
            counters.Requests += ok + failed;
            counters.Errors += failed;
        }
    }

    private static long Draw(StreamRandom random, double mean) => mean <= 0 ? 0 : Poisson.Sample(random, mean);

    /// <summary>The share of requests in each bucket (the last is above the highest edge) of a log-normal duration.</summary>
    private static double[] Shares(IReadOnlyList<double> edges, double median, double sigma)
    {
        var shares = new double[edges.Count + 1];
        var below = 0.0;
        for (var i = 0; i < edges.Count; i++)
        {
            // The log-normal CDF through the complementary error function: Φ(z) = erfc(−z/√2)/2.
            var cdf = 0.5 * SpecialFunctions.Erfc(-(Math.Log(edges[i] / median) / sigma) / Math.Sqrt(2));
            shares[i] = cdf - below;
            below = cdf;
        }

        shares[^1] = 1 - below;
        return shares;
    }
}
