namespace Canary.Analyzer.Cli;

/// <summary>Bad input or usage: every problem names its field (or flag) and the reason. Exit status 2.</summary>
public sealed class InputException : Exception
{
    public InputException(string message)
        : this([message])
    {
    }

    public InputException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems)) => Problems = problems;

    public InputException()
        : this("bad input")
    {
    }

    public InputException(string message, Exception innerException)
        : base(message, innerException) => Problems = [message];

    public IReadOnlyList<string> Problems { get; } = [];
}
