using System.Globalization;
using System.Text;
using Canary.Analyzer.Documents;

namespace Canary.Analyzer.Tests.Documents;

public class FastDoubleTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("0.1")]
    [InlineData("123.456")]
    [InlineData("-7.25e-3")]
    [InlineData("1E22")]
    [InlineData("9007199254740993")]
    [InlineData("1.7976931348623157e308")]
    [InlineData("4.9e-324")]
    [InlineData("0.30000000000000004")]
    [InlineData("12345678901234567890.5")]
    [InlineData("2.5e+10")]
    public void Parses_exactly_as_the_framework_does(string text)
    {
        Assert.True(FastDouble.TryParse(Encoding.UTF8.GetBytes(text), out var value));
        Assert.Equal(double.Parse(text, CultureInfo.InvariantCulture), value);
        Assert.Equal(double.IsNegative(double.Parse(text, CultureInfo.InvariantCulture)), double.IsNegative(value));
    }

    [Fact]
    public void Random_decimals_round_trip_bit_for_bit()
    {
        var random = new Random(5);
        for (var i = 0; i < 200_000; i++)
        {
            var digits = random.Next(1, 19);
            var mantissa = (long)(random.NextDouble() * Math.Pow(10, digits));
            var scale = random.Next(-25, 25);
            var text = (random.Next(2) == 0 ? "-" : string.Empty) + mantissa.ToString(CultureInfo.InvariantCulture)
                + (i % 3 == 0 ? $"e{scale}" : i % 3 == 1 ? $".{random.Next(1000)}" : string.Empty);
            Assert.True(FastDouble.TryParse(Encoding.UTF8.GetBytes(text), out var value), text);
            Assert.True(double.Parse(text, CultureInfo.InvariantCulture).Equals(value), text);
        }
    }

    [Fact]
    public void A_number_beyond_double_range_is_not_finite()
    {
        Assert.False(FastDouble.TryParse("1e400"u8, out _));
    }
}
