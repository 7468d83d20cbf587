using System.Buffers.Text;

namespace Canary.Analyzer.Documents;

/// <summary>
/// Parses JSON numbers to double, correctly rounded. Plain decimals with at most 19 significant
/// digits whose value is m·10^e with m ≤ 2^53 and |e| ≤ 22 take Clinger's exact fast path (1990):
/// m and 10^|e| are both exact doubles, so one multiplication or division rounds once, correctly.
/// Everything else goes to the framework's parser. Samples from Prometheus are nearly all plain decimals.
/// </summary>
internal static class FastDouble
{
    private static readonly double[] PowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>The value of a JSON number token; false only when it overflows to infinity.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out double value)
    {
        if (TryFastPath(text, out value))
        {
            return true;
        }

        return Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length && double.IsFinite(value);
    }

    private static bool TryFastPath(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        var i = 0;
        var negative = i < text.Length && text[i] == '-';
        i += negative ? 1 : 0;
        ulong mantissa = 0;
        int digits = 0, exponent = 0;
        for (; i < text.Length && (uint)(text[i] - '0') <= 9; i++)
        {
            mantissa = (mantissa * 10) + (uint)(text[i] - '0');
            digits += mantissa == 0 ? 0 : 1;
        }

        if (i < text.Length && text[i] == '.')
        {
            for (i++; i < text.Length && (uint)(text[i] - '0') <= 9; i++)
            {
                mantissa = (mantissa * 10) + (uint)(text[i] - '0');
                digits += mantissa == 0 ? 0 : 1;
                exponent--;
            }
        }

        if (i < text.Length && (text[i] | 0x20) == 'e')
        {
            i++;
            var negativeExponent = i < text.Length && text[i] == '-';
            i += i < text.Length && (text[i] == '-' || text[i] == '+') ? 1 : 0;
            var written = 0;
            for (; i < text.Length && (uint)(text[i] - '0') <= 9 && written < 6; i++)
            {
                written = (written * 10) + (text[i] - '0');
            }

            exponent += negativeExponent ? -written : written;
        }

        // Leading zeros do not count; more than 19 digits may have overflowed the mantissa.
        if (i != text.Length || digits > 19 || mantissa > (1UL << 53) || exponent < -22 || exponent > 22)
        {
            return false;
        }

        value = exponent >= 0 ? mantissa * PowersOfTen[exponent] : mantissa / PowersOfTen[-exponent];
        value = negative ? -value : value;
        return true;
    }
}
