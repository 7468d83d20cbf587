namespace Canary.Analyzer.Documents;

/// <summary>Bad input or usage: every problem names its field (or flag) and the reason. Exit status 2.</summary>
internal sealed class InputException : Exception
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

    /// <summary>The problems as structured fields, when the reader kept them (the API answers with their path, line and column).</summary>
    public InputException(IReadOnlyList<DocumentProblem> problems, string source)
        : this([.. (problems ?? []).Select(p => p.Format(source))]) => Details = problems;

    public IReadOnlyList<string> Problems { get; } = [];

    public IReadOnlyList<DocumentProblem>? Details { get; }
}
