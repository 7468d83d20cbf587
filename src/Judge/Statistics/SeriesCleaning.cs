using System.Numerics;

namespace Canary.Judge.Statistics;

/// <summary>Vectorised handling of missing (NaN) and non-finite points.</summary>
internal static class SeriesCleaning
{
    /// <summary>Copies the finite values of source to destination; returns how many were copied.</summary>
    public static int CopyFinite(ReadOnlySpan<double> source, Span<double> destination)
    {
        var count = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<double>.Count;
            for (; i <= source.Length - width; i += width)
            {
                var v = new Vector<double>(source[i..]);
                // v − v is 0 for finite lanes and NaN for NaN and ±∞, so one compare finds both.
                if (Vector.EqualsAll(v - v, Vector<double>.Zero))
                {
                    v.CopyTo(destination[count..]);
                    count += width;
                }
                else
                {
                    count = CopyFiniteScalar(source.Slice(i, width), destination, count);
                }
            }
        }

        return CopyFiniteScalar(source[i..], destination, count);
    }

    /// <summary>Copies source to destination with every non-finite value replaced by 0.</summary>
    public static void CopyReplacingNonFinite(ReadOnlySpan<double> source, Span<double> destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<double>.Count;
            for (; i <= source.Length - width; i += width)
            {
                var v = new Vector<double>(source[i..]);
                var finite = Vector.Equals(v - v, Vector<double>.Zero);
                Vector.ConditionalSelect(finite, v, Vector<double>.Zero).CopyTo(destination[i..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = double.IsFinite(source[i]) ? source[i] : 0.0;
        }
    }

    private static int CopyFiniteScalar(ReadOnlySpan<double> source, Span<double> destination, int count)
    {
        foreach (var value in source)
        {
            if (double.IsFinite(value))
            {
                destination[count++] = value;
            }
        }

        return count;
    }
}
