using System.Buffers;

namespace Canary.Judge.Scoring;

/// <summary>Pooled buffers reused across the metrics one thread judges, so no sample is allocated per metric.</summary>
internal sealed class MetricWorkspace : IDisposable
{
    private double[] control = [];
    private double[] experiment = [];
    private double[] scratch = [];

    public Span<double> Control(int length) => Rent(ref control, length);

    public Span<double> Experiment(int length) => Rent(ref experiment, length);

    public Span<double> Scratch(int length) => Rent(ref scratch, length);

    public void Dispose()
    {
        Return(ref control);
        Return(ref experiment);
        Return(ref scratch);
    }

    private static Span<double> Rent(ref double[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            Return(ref buffer);
            buffer = ArrayPool<double>.Shared.Rent(length);
        }

        return buffer.AsSpan(0, length);
    }

    private static void Return(ref double[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<double>.Shared.Return(buffer);
        }

        buffer = [];
    }
}
