using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Storage;

/// <summary>A rollout as stored: its key (namespace/name), its state, and a version for optimistic writes.</summary>
public sealed record StoredRollout(string Key, RolloutState State, DateTimeOffset UpdatedAt, long Version);

/// <summary>One analysis: the verdict, the full Judge output and the rendered queries (JSON), as recorded.</summary>
public sealed record AnalysisRecord(Guid Id, string RolloutKey, DateTimeOffset At, string Verdict, double? Score, bool Inconclusive, string ResultJson, string QueriesJson);

/// <summary>One decision: the phase and weight it led to, its verdict, why, and the actions it asked for (JSON).</summary>
public sealed record DecisionRecord(Guid Id, string RolloutKey, DateTimeOffset At, string Phase, int CanaryWeight, string Verdict, string Reason, string ActionsJson, Guid? AnalysisId);

/// <summary>What one tick persists in one transaction, before any action is applied.</summary>
public sealed record TickRecord(string RolloutKey, RolloutState State, DecisionRecord Decision, AnalysisRecord? Analysis, long? ExpectedVersion);

/// <summary>Another writer changed the rollout since it was read; the tick is dropped and decided again.</summary>
public sealed class StaleRolloutException : Exception
{
    public StaleRolloutException(string message)
        : base(message)
    {
    }

    public StaleRolloutException()
    {
    }

    public StaleRolloutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Durable state and history of rollouts (DESIGN: Storage/): SQLite (embedded default) or PostgreSQL
/// (for several replicas). A tick's state, decision and analysis are written in one transaction.
/// </summary>
public interface IAnalysisStore : IAsyncDisposable
{
    /// <summary>Applies the schema migrations this version knows and the database has not seen.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    Task<StoredRollout?> GetRolloutAsync(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredRollout>> ListRolloutsAsync(CancellationToken cancellationToken);

    /// <summary>Stores a tick; with ExpectedVersion, only if the rollout is still at that version (else <see cref="StaleRolloutException"/>). Returns the new version.</summary>
    Task<long> SaveTickAsync(TickRecord tick, CancellationToken cancellationToken);

    Task<IReadOnlyList<AnalysisRecord>> AnalysesAsync(string rolloutKey, CancellationToken cancellationToken);

    Task<IReadOnlyList<DecisionRecord>> DecisionsAsync(string rolloutKey, CancellationToken cancellationToken);

    /// <summary>Removes analyses and decisions older than the cutoff; returns how many rows went.</summary>
    Task<int> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);

    /// <summary>Forgets a rollout whose Canary was deleted (its history stays until pruned).</summary>
    Task DeleteRolloutAsync(string key, CancellationToken cancellationToken);
}
