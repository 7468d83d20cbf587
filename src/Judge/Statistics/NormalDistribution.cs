using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace Canary.Judge.Statistics;

internal static class NormalDistribution
{
    /// <summary>
    /// Two-sided tail probability 2·Φ(−|z|), through erfc so it keeps full relative precision far
    /// into the tail (1 − Φ would round to 0 beyond |z| ≈ 8.3); as R's 2·pnorm(|z|, lower.tail = FALSE).
    /// </summary>
    public static double TwoSidedPValue(double z) => Math.Min(1.0, SpecialFunctions.Erfc(Math.Abs(z) / Math.Sqrt(2.0)));

    /// <summary>Φ⁻¹(p): as R's qnorm(p).</summary>
    public static double Quantile(double p) => Normal.InvCDF(0.0, 1.0, p);
}
