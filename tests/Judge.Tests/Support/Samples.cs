namespace Canary.Judge.Tests.Support;

/// <summary>Seeded sample generators, so every property test sees the same data on every run.</summary>
internal static class Samples
{
    public static double[] Normal(Random random, int count, double mean, double sd)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            // Box–Muller.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = mean + (sd * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return values;
    }

    public static double[] LogNormal(Random random, int count, double median, double sigma) =>
        Normal(random, count, Math.Log(median), sigma).Select(Math.Exp).ToArray();

    public static double[] Integers(Random random, int count, int maxExclusive) =>
        Enumerable.Range(0, count).Select(_ => (double)random.Next(maxExclusive)).ToArray();

    public static double[] Sorted(double[] values)
    {
        var copy = (double[])values.Clone();
        Array.Sort(copy);
        return copy;
    }

    /// <summary>All n·m differences x[i] − y[j], sorted: the brute-force definition the selector must match.</summary>
    public static double[] AllDifferences(double[] x, double[] y)
    {
        var all = new double[x.Length * y.Length];
        var k = 0;
        foreach (var xi in x)
        {
            foreach (var yj in y)
            {
                all[k++] = xi - yj;
            }
        }

        Array.Sort(all);
        return all;
    }
}
