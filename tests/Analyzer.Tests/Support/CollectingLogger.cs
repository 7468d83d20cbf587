using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Tests.Support;

/// <summary>A logger that keeps every message it is given, for tests that check what an operator would read.</summary>
internal sealed class CollectingLogger<T> : ILogger<T>
{
    private readonly List<string> messages = [];

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (messages)
            {
                return [.. messages];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        lock (messages)
        {
            messages.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
