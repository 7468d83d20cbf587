using System.Globalization;
using System.Text;

namespace Canary.Bench;

/// <summary>Deterministic latency-like samples shared by the benchmarks, the R timing and the CLI batch.</summary>
internal static class BenchData
{
    /// <summary>Log-normal samples around 120 ms; the experiment of every third metric is 10 % slower.</summary>
    public static (double[] Control, double[] Experiment) Metric(int index, int samples)
    {
        var random = new Random(index + 1);
        var slower = index % 3 == 0 ? 1.1 : 1.0;
        return (LogNormal(random, samples, 120, 0.3, 1.0), LogNormal(random, samples, 120, 0.3, slower));
    }

    /// <summary>
    /// Writes the batch three ways: a Judge-contract document for canary judge, and one line of
    /// space-separated numbers per metric and cohort for R.
    /// </summary>
    public static void WriteBatch(string folder, int metrics, int samples)
    {
        Directory.CreateDirectory(folder);
        var json = new StringBuilder("{\"config\": {\"name\": \"bench\", \"metrics\": [");
        for (var i = 0; i < metrics; i++)
        {
            json.Append(i == 0 ? string.Empty : ", ").Append(CultureInfo.InvariantCulture, $"{{\"name\": \"m{i}\", \"group\": \"g{i % 4}\", \"direction\": \"increase\"}}");
        }

        json.Append("]}, \"data\": [");
        using var control = new StreamWriter(Path.Combine(folder, "control.txt"));
        using var experiment = new StreamWriter(Path.Combine(folder, "experiment.txt"));
        for (var i = 0; i < metrics; i++)
        {
            var (c, e) = Metric(i, samples);
            var cText = string.Join(' ', c.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            var eText = string.Join(' ', e.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            control.WriteLine(cText);
            experiment.WriteLine(eText);
            json.Append(i == 0 ? string.Empty : ",\n").Append(CultureInfo.InvariantCulture, $"{{\"metric\": \"m{i}\", \"control\": [{cText.Replace(' ', ',')}], \"experiment\": [{eText.Replace(' ', ',')}]}}");
        }

        json.Append("]}\n");
        File.WriteAllText(Path.Combine(folder, "batch.json"), json.ToString());
    }

    private static double[] LogNormal(Random random, int count, double median, double sigma, double scale)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            values[i] = Math.Round(scale * median * Math.Exp(sigma * z), 3);
        }

        return values;
    }
}
