using System.Globalization;
using System.Text;

namespace Canary.Testing;

/// <summary>How one cohort behaves in a scenario: requests per second, share of 5xx, latency multiplier.</summary>
public sealed record CohortBehaviour(double RequestsPerSecond, double ErrorRatio, double LatencyFactor);

/// <summary>One service (a namespace of its own) with a v1 and a v2 cohort.</summary>
public sealed record Scenario(string Namespace, CohortBehaviour V1, CohortBehaviour V2);

/// <summary>
/// Deterministic synthetic metrics for v1 and v2 cohorts of several services, written as OpenMetrics
/// text for `promtool tsdb create-blocks-from openmetrics`. One simulated stream of requests per
/// cohort feeds all three sources — plain HTTP instrumentation, Istio and NGINX ingress — plus
/// cAdvisor's CPU and memory, so the sources agree with each other.
/// </summary>
public static class SyntheticHistory
{
    public const string PrimaryPod = "checkout-primary-5d4f8b7c9-x2x7k";
    public const string CanaryPod = "checkout-canary-6c8d9f7b5-q9w4n";

    /// <summary>Scrapes every 15 s over one hour from Start.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 2, 10, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan Length = TimeSpan.FromHours(1);
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(15);

    /// <summary>The half hour the tests analyse: the second half of the history.</summary>
    public static readonly DateTimeOffset WindowStart = Start + TimeSpan.FromMinutes(30);
    public static readonly DateTimeOffset WindowEnd = Start + Length;

    private static readonly CohortBehaviour Normal = new(20, 0.01, 1.0);

    /// <summary>
    /// healthy: v1 and v2 alike and without a single error (no 5xx series at all); errors: v2 with 3×
    /// v1's 5xx share; slow: v2 30 % slower; idle: v2 deployed but serving no traffic.
    /// </summary>
    public static readonly IReadOnlyList<Scenario> Scenarios =
    [
        new("healthy", Normal with { ErrorRatio = 0 }, Normal with { ErrorRatio = 0 }),
        new("errors", Normal, Normal with { ErrorRatio = 0.03 }),
        new("slow", Normal, Normal with { LatencyFactor = 1.3 }),
        new("idle", Normal, Normal with { RequestsPerSecond = 0 }),
    ];

    /// <summary>The upper bounds of the seconds histograms (plain HTTP, NGINX) and of Istio's milliseconds histogram, without +Inf.</summary>
    public static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    public static readonly double[] IstioMillisecondBuckets = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private static readonly Lazy<List<CohortHistory>> Default = new(() => Simulate(DefaultSeed));

    private const int DefaultSeed = 20261102;

    /// <summary>What the written history holds for one cohort (the default seed): its counters at every scrape, from Start every ScrapeInterval.</summary>
    public static CohortHistory Of(string ns, string version) => Default.Value.Single(c => c.Namespace == ns && c.Version == version);

    /// <summary>Writes the whole history as one OpenMetrics document ending in "# EOF".</summary>
    public static void Write(TextWriter output, int seed = DefaultSeed)
    {
        ArgumentNullException.ThrowIfNull(output);
        var cohorts = Simulate(seed);
        Family(output, "http_requests", "counter", cohorts, (c, t, w) =>
        {
            foreach (var (code, count) in Codes(c, t))
            {
                w.Sample("http_requests_total", Labels(c, "http", ("code", code)), count);
            }
        });
        Family(output, "http_request_duration_seconds", "histogram", cohorts, (c, t, w) => Histogram(w, "http_request_duration_seconds", Labels(c, "http"), c.SecondsBuckets[t], SecondsBuckets, c.Counts[t], c.SumSeconds[t]));
        Family(output, "istio_requests", "counter", cohorts, (c, t, w) =>
        {
            foreach (var (code, count) in Codes(c, t))
            {
                w.Sample("istio_requests_total", Labels(c, "istio", ("response_code", code)), count);
            }
        });
        Family(output, "istio_request_duration_milliseconds", "histogram", cohorts, (c, t, w) => Histogram(w, "istio_request_duration_milliseconds", Labels(c, "istio"), c.MillisecondBuckets[t], IstioMillisecondBuckets, c.Counts[t], c.SumSeconds[t] * 1000));
        // ingress-nginx names this counter without _total, so it cannot be an OpenMetrics counter.
        Family(output, "nginx_ingress_controller_requests", "unknown", cohorts, (c, t, w) =>
        {
            foreach (var (code, count) in Codes(c, t))
            {
                w.Sample("nginx_ingress_controller_requests", Labels(c, "nginx", ("status", code)), count);
            }
        });
        Family(output, "nginx_ingress_controller_response_duration_seconds", "histogram", cohorts, (c, t, w) => Histogram(w, "nginx_ingress_controller_response_duration_seconds", Labels(c, "nginx"), c.SecondsBuckets[t], SecondsBuckets, c.Counts[t], c.SumSeconds[t]));
        Family(output, "container_cpu_usage_seconds", "counter", cohorts, (c, t, w) => w.Sample("container_cpu_usage_seconds_total", Labels(c, "cadvisor"), c.CpuSeconds[t]));
        Family(output, "container_memory_working_set_bytes", "gauge", cohorts, (c, t, w) => w.Sample("container_memory_working_set_bytes", Labels(c, "cadvisor"), c.MemoryBytes[t]));
        output.WriteLine("# EOF");
    }

    private static IEnumerable<(string Code, double Count)> Codes(CohortHistory c, int t)
    {
        yield return ("200", c.Counts[t] - c.Errors[t]);
        if (c.Behaviour.ErrorRatio > 0)
        {
            yield return ("500", c.Errors[t]);
        }
    }

    private static void Histogram(SampleWriter w, string name, string labels, long[] cumulative, double[] bounds, double count, double sum)
    {
        for (var i = 0; i < bounds.Length; i++)
        {
            w.Sample(name + "_bucket", $"{labels},le=\"{bounds[i].ToString(CultureInfo.InvariantCulture)}\"", cumulative[i]);
        }

        w.Sample(name + "_bucket", $"{labels},le=\"+Inf\"", count);
        w.Sample(name + "_count", labels, count);
        w.Sample(name + "_sum", labels, sum);
    }

    private static string Labels(CohortHistory c, string source, (string Name, string Value)? extra = null)
    {
        var primary = c.Version == "v1";
        var labels = source switch
        {
            "http" => $"namespace=\"{c.Namespace}\",pod=\"{(primary ? PrimaryPod : CanaryPod)}\",version=\"{c.Version}\"",
            "istio" => $"reporter=\"destination\",destination_workload_namespace=\"{c.Namespace}\",destination_workload=\"checkout-{(primary ? "primary" : "canary")}\",destination_version=\"{c.Version}\"",
            "nginx" => $"namespace=\"{c.Namespace}\",ingress=\"checkout\",service=\"checkout-{(primary ? "primary" : "canary")}\"",
            _ => $"namespace=\"{c.Namespace}\",pod=\"{(primary ? PrimaryPod : CanaryPod)}\",container=\"app\"",
        };
        return extra is { } e ? $"{labels},{e.Name}=\"{e.Value}\"" : labels;
    }

    private static void Family(TextWriter output, string family, string type, List<CohortHistory> cohorts, Action<CohortHistory, int, SampleWriter> write)
    {
        output.Write("# TYPE ");
        output.Write(family);
        output.Write(' ');
        output.WriteLine(type);
        // All samples of a family together, each series in time order.
        foreach (var cohort in cohorts)
        {
            var writer = new SampleWriter(output);
            for (var t = 0; t < cohort.Counts.Length; t++)
            {
                writer.Timestamp = (Start + (ScrapeInterval * t)).ToUnixTimeSeconds();
                write(cohort, t, writer);
            }
        }
    }

    /// <summary>Each cohort's cumulative counters at every scrape, from a seeded random stream of requests.</summary>
    private static List<CohortHistory> Simulate(int seed)
    {
        var random = new Random(seed);
        var cohorts = new List<CohortHistory>();
        var scrapes = (int)(Length / ScrapeInterval) + 1;
        foreach (var scenario in Scenarios)
        {
            foreach (var (version, behaviour) in new[] { ("v1", scenario.V1), ("v2", scenario.V2) })
            {
                var c = new CohortHistory(scenario.Namespace, version, behaviour, scrapes);
                double count = 0, errors = 0, sum = 0, cpu = 0;
                var seconds = new long[SecondsBuckets.Length];
                var milliseconds = new long[IstioMillisecondBuckets.Length];
                for (var t = 0; t < scrapes; t++)
                {
                    if (t > 0)
                    {
                        var requests = Poisson(random, behaviour.RequestsPerSecond * ScrapeInterval.TotalSeconds);
                        for (var r = 0; r < requests; r++)
                        {
                            // Latency: log-normal with a 100 ms median, times the cohort's factor.
                            var latency = 0.1 * behaviour.LatencyFactor * Math.Exp(0.5 * Gaussian(random));
                            sum += latency;
                            Count(seconds, SecondsBuckets, latency);
                            Count(milliseconds, IstioMillisecondBuckets, latency * 1000);
                            if (random.NextDouble() < behaviour.ErrorRatio)
                            {
                                errors++;
                            }

                            // 2 ms of CPU per request on top of 5 ms per second of idle work.
                            cpu += 0.002 * (1 + (0.2 * Gaussian(random)));
                        }

                        count += requests;
                        cpu += 0.005 * ScrapeInterval.TotalSeconds;
                    }

                    c.Counts[t] = count;
                    c.Errors[t] = errors;
                    c.SumSeconds[t] = sum;
                    c.CpuSeconds[t] = cpu;
                    c.MemoryBytes[t] = Math.Round(200e6 + (behaviour.RequestsPerSecond * 1e6) + (5e6 * Gaussian(random)));
                    c.SecondsBuckets[t] = (long[])seconds.Clone();
                    c.MillisecondBuckets[t] = (long[])milliseconds.Clone();
                }

                cohorts.Add(c);
            }
        }

        return cohorts;
    }

    private static void Count(long[] cumulative, double[] bounds, double value)
    {
        for (var i = bounds.Length - 1; i >= 0 && value <= bounds[i]; i--)
        {
            cumulative[i]++;
        }
    }

    private static int Poisson(Random random, double mean)
    {
        if (mean <= 0)
        {
            return 0;
        }

        // Normal approximation: the means here are in the hundreds.
        return Math.Max(0, (int)Math.Round(mean + (Math.Sqrt(mean) * Gaussian(random))));
    }

    private static double Gaussian(Random random)
    {
        // Box–Muller.
        var u = 1 - random.NextDouble();
        var v = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }

    /// <summary>One cohort's cumulative counters (and memory gauge) at every scrape.</summary>
    public sealed class CohortHistory(string ns, string version, CohortBehaviour behaviour, int scrapes)
    {
        public string Namespace { get; } = ns;

        public string Version { get; } = version;

        public CohortBehaviour Behaviour { get; } = behaviour;

        public double[] Counts { get; } = new double[scrapes];

        public double[] Errors { get; } = new double[scrapes];

        public double[] SumSeconds { get; } = new double[scrapes];

        public double[] CpuSeconds { get; } = new double[scrapes];

        public double[] MemoryBytes { get; } = new double[scrapes];

        public long[][] SecondsBuckets { get; } = new long[scrapes][];

        public long[][] MillisecondBuckets { get; } = new long[scrapes][];
    }

    private sealed class SampleWriter(TextWriter output)
    {
        public long Timestamp { get; set; }

        public void Sample(string name, string labels, double value)
        {
            output.Write(name);
            output.Write('{');
            output.Write(labels);
            output.Write("} ");
            output.Write(value.ToString("R", CultureInfo.InvariantCulture));
            output.Write(' ');
            output.WriteLine(Timestamp.ToString(CultureInfo.InvariantCulture));
        }
    }
}
