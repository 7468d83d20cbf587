namespace Canary.Analyzer.Storage;

/// <summary>
/// The store cannot be used: missing, corrupt, not a canary store, or unreachable. Store names it by
/// kind and place (sqlite:PATH, or postgres with host and database) and never carries credentials.
/// The CLI exits 3 on it; the API answers 503.
/// </summary>
internal sealed class StoreException : Documents.ExternalFaultException
{
    public StoreException(string store, string reason)
        : base($"the store {store}: {reason}")
    {
        Store = store;
        Reason = reason;
    }

    public StoreException(string store, string reason, Exception innerException)
        : base($"the store {store}: {reason}", innerException)
    {
        Store = store;
        Reason = reason;
    }

    public StoreException()
        : this("(unknown)", "cannot be used")
    {
    }

    public StoreException(string message)
        : this("(unknown)", message)
    {
    }

    public StoreException(string message, Exception innerException)
        : this("(unknown)", message, innerException)
    {
    }

    /// <summary>The store's kind and place, safe for logs.</summary>
    public string Store { get; }

    /// <summary>What is wrong, in one sentence.</summary>
    public string Reason { get; }
}
