namespace Canary.Analyzer.Documents;

/// <summary>
/// A fault of a system canary talks to — Kubernetes, a router, Prometheus, the store — rather than
/// of its input or of canary itself: never a promotion, never an internal error. The one type the
/// shell catches where any of them means "no evidence this tick" or "the next tick repairs it".
/// </summary>
internal abstract class ExternalFaultException : Exception
{
    protected ExternalFaultException()
    {
    }

    protected ExternalFaultException(string message)
        : base(message)
    {
    }

    protected ExternalFaultException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
