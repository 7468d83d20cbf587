namespace Canary.Testing.Kubernetes;

/// <summary>What the emulator does to the next requests whose path contains a given text.</summary>
public abstract record ApiFault
{
    /// <summary>Answer with a Status of this code (409 Conflict, 500 InternalError, ...).</summary>
    public sealed record Status(int Code) : ApiFault;

    /// <summary>Wait, then serve the request.</summary>
    public sealed record Delay(TimeSpan Duration) : ApiFault;

    /// <summary>Close the connection without an answer.</summary>
    public sealed record Drop : ApiFault;

    /// <summary>Run this first (e.g. another writer acting at that very moment), then serve the request.</summary>
    public sealed record Before(Func<Task> Action) : ApiFault;
}

/// <summary>The faults injected for the next requests, in order: the first applies to the next request that matches it, others pass.</summary>
internal sealed class InjectedFaults
{
    private readonly Queue<(string? Method, string Path, ApiFault Fault)> faults = new();
    private readonly Lock gate = new();

    /// <summary>Queues these faults for the next requests with this method (null for any) whose path contains pathPart.</summary>
    public void Add(string? method, string pathPart, ApiFault[] next)
    {
        lock (gate)
        {
            foreach (var fault in next)
            {
                faults.Enqueue((method, pathPart, fault));
            }
        }
    }

    /// <summary>The fault for this request, taken off the queue, or null when the next fault is not for it.</summary>
    public ApiFault? Take(string method, string path)
    {
        lock (gate)
        {
            // The next fault applies to the next request that matches it; others pass.
            if (faults.TryPeek(out var head) && path.Contains(head.Path, StringComparison.Ordinal) && (head.Method is null || head.Method == method))
            {
                return faults.Dequeue().Fault;
            }

            return null;
        }
    }
}
