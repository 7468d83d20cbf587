namespace Canary.Analyzer.Storage;

/// <summary>
/// A rollout as stored: its key (namespace/name), its state — a JSON document of the rollouts' own,
/// which the store keeps and never reads into — and a version for optimistic writes.
/// </summary>
internal sealed record StoredRollout(string Key, string State, DateTimeOffset UpdatedAt, long Version)
{
    /// <summary>The command ids its stored ticks carried out, oldest first, with the text each applied.</summary>
    public IReadOnlyList<AppliedCommand> AppliedCommands { get; init; } = [];
}

/// <summary>One analysis: the verdict, the full Judge output and the rendered queries (JSON), as recorded.</summary>
internal sealed record AnalysisRecord(Guid Id, string RolloutKey, DateTimeOffset At, string Verdict, double? Score, bool Inconclusive, string ResultJson, string QueriesJson);

/// <summary>One decision: the phase and weight it led to, its verdict, why, and the actions it asked for (JSON).</summary>
internal sealed record DecisionRecord(Guid Id, string RolloutKey, DateTimeOffset At, string Phase, int CanaryWeight, string Verdict, string Reason, string ActionsJson, Guid? AnalysisId)
{
    /// <summary>The revision under release after this decision (schema 3; null in older rows).</summary>
    public string? Revision { get; init; }

    /// <summary>The commands carried out by this tick, comma-separated (approve, abort, pause, resume, skip), or null.</summary>
    public string? Commands { get; init; }

    /// <summary>A fault that left this tick without evidence from Kubernetes (the workloads could not be read), or null.</summary>
    public string? Fault { get; init; }

    /// <summary>The id of the commands this tick carried out (canary.dev/command-id), or null (schema 5).</summary>
    public string? CommandId { get; init; }

    /// <summary>Warnings Prometheus attached to this tick's analysis (e.g. a partial answer), one per line, or null (schema 5).</summary>
    public string? Warnings { get; init; }

    /// <summary>
    /// Whether this decision says nothing the previous one did not: the same phase, weight, verdict,
    /// reason, revision and fault, and no command or analysis of its own. Such a tick is not kept as a
    /// row of history (an idle rollout would add 8,640 a day at a 10 s interval).
    /// </summary>
    public bool Repeats(DecisionRecord? previous) =>
        previous is not null && Commands is null && AnalysisId is null && Phase == previous.Phase && CanaryWeight == previous.CanaryWeight
        && Verdict == previous.Verdict && Reason == previous.Reason && (Revision ?? string.Empty) == (previous.Revision ?? string.Empty)
        && (Fault ?? string.Empty) == (previous.Fault ?? string.Empty) && CommandId is null && Warnings is null;
}

/// <summary>A command id and the text a stored tick carried out under it.</summary>
internal sealed record AppliedCommand(string Id, string Text);

/// <summary>A weekly report as kept in the store: its ISO week (2026-W47), the JSON and the self-contained HTML.</summary>
internal sealed record StoredReport(string Week, DateTimeOffset CreatedAt, string Json, string Html);

/// <summary>An analysis asked for through the API: its request, and once done its verdict and full result (or why it failed).</summary>
internal sealed record RequestedAnalysis(
    Guid Id, string Service, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string Status, string? Verdict, double? Score,
    string RequestJson, string? ResultJson, string? Error, string RequestedBy)
{
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    /// <summary>Stopped by its caller or an admin (DELETE /api/v1/analyses/{id}).</summary>
    public const string Cancelled = "Cancelled";
}

/// <summary>A filter over requested analyses, newest first; After is the Next of the page before.</summary>
internal sealed record AnalysisQuery(string? Service = null, DateTimeOffset? From = null, DateTimeOffset? To = null, string? Verdict = null, int Limit = 50, string? After = null);

/// <summary>One page of rows, newest first, and the cursor of the next page (null on the last).</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>Which page: at most Limit rows (1 to <see cref="MaxLimit"/>), after the cursor a page before gave.</summary>
internal sealed record PageRequest(int Limit = PageRequest.DefaultLimit, string? After = null)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;
}

/// <summary>The canary's weight at a time: one point of a rollout's weight chart.</summary>
internal sealed record WeightPoint(DateTimeOffset At, int Weight);

/// <summary>One analysis's sequential evidence, per metric (only the metrics with evidence).</summary>
internal sealed record EvidencePoint(DateTimeOffset At, IReadOnlyDictionary<string, MetricEvidence> Metrics);

/// <summary>A canary config kept under a name, as the API's admins put it (the document as sent: YAML or JSON).</summary>
internal sealed record NamedConfig(string Name, string Body, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>What one tick persists in one transaction, before any action is applied: the rollout's new state (its JSON document; the phase is the decision's), the decision, the analysis.</summary>
internal sealed record TickRecord(string RolloutKey, string State, DecisionRecord Decision, AnalysisRecord? Analysis, long? ExpectedVersion)
{
    /// <summary>The command ids the rollout remembers after this tick; null keeps those stored.</summary>
    public IReadOnlyList<AppliedCommand>? AppliedCommands { get; init; }
}

/// <summary>Another writer changed the rollout since it was read; the tick is dropped and decided again.</summary>
internal sealed class StaleRolloutException : Exception
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
internal interface IAnalysisStore : IAsyncDisposable
{
    /// <summary>The store's kind and place for messages (sqlite:PATH, postgres:HOST:PORT/DATABASE), never credentials.</summary>
    string Description { get; }

    /// <summary>Checks the store and applies the schema migrations this version knows and the database has not seen.</summary>
    /// <exception cref="StoreException">The store is missing, empty, foreign, corrupt, unreachable or newer than this canary.</exception>
    Task MigrateAsync(CancellationToken cancellationToken);

    Task<StoredRollout?> GetRolloutAsync(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredRollout>> ListRolloutsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores a tick; with ExpectedVersion, only if the rollout is still at that version (else <see cref="StaleRolloutException"/>). Returns the new version.
    /// The decision is kept only when it says something new (<see cref="DecisionRecord.Repeats"/>); an idle tick updates the rollout's row alone.
    /// </summary>
    Task<long> SaveTickAsync(TickRecord tick, CancellationToken cancellationToken);

    /// <summary>A rollout's analyses, newest first, one page at a time.</summary>
    /// <exception cref="ArgumentException">page.After is not a cursor this store gave.</exception>
    Task<Page<AnalysisRecord>> AnalysesAsync(string rolloutKey, PageRequest page, CancellationToken cancellationToken);

    /// <summary>A rollout's analyses as lists show them (no samples, no queries), newest first, one page at a time.</summary>
    /// <exception cref="ArgumentException">page.After is not a cursor this store gave.</exception>
    Task<Page<AnalysisSummary>> AnalysisSummariesAsync(string rolloutKey, PageRequest page, CancellationToken cancellationToken);

    /// <summary>A rollout's decisions, newest first, one page at a time.</summary>
    /// <exception cref="ArgumentException">page.After is not a cursor this store gave.</exception>
    Task<Page<DecisionRecord>> DecisionsAsync(string rolloutKey, PageRequest page, CancellationToken cancellationToken);

    /// <summary>The rollout's weight over its whole history in at most maxPoints points, oldest first: the highest weight of each of maxPoints equal stretches of time.</summary>
    Task<IReadOnlyList<WeightPoint>> WeightHistoryAsync(string rolloutKey, int maxPoints, CancellationToken cancellationToken);

    /// <summary>
    /// The sequential evidence of the rollout's analyses with since &lt;= at &lt;= until in at most
    /// maxPoints points, oldest first: of each of maxPoints − 1 equal stretches of time, its newest
    /// analysis, unless that would hide a metric an older one had at or over its 1/α line (a
    /// crossing is never thinned away); the newest analysis of all is always the last point.
    /// </summary>
    Task<IReadOnlyList<EvidencePoint>> EvidenceHistoryAsync(string rolloutKey, DateTimeOffset since, DateTimeOffset until, int maxPoints, CancellationToken cancellationToken);

    /// <summary>Every rollout's decisions with since &lt;= at &lt; until, by rollout and time (for reports).</summary>
    Task<IReadOnlyList<DecisionRecord>> DecisionsBetweenAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Every rollout's analyses with since &lt;= at &lt; until, by rollout and time (for reports).</summary>
    Task<IReadOnlyList<AnalysisRecord>> AnalysesBetweenAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Keeps a weekly report (replacing the week's earlier one).</summary>
    Task SaveReportAsync(StoredReport report, CancellationToken cancellationToken);

    Task<StoredReport?> GetReportAsync(string week, CancellationToken cancellationToken);

    /// <summary>The weeks with a kept report, newest first.</summary>
    Task<IReadOnlyList<string>> ReportWeeksAsync(CancellationToken cancellationToken);

    /// <summary>Removes analyses and decisions older than the cutoff; returns how many rows went.</summary>
    Task<int> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);

    /// <summary>Forgets a rollout whose Canary was deleted (its history stays until pruned).</summary>
    Task DeleteRolloutAsync(string key, CancellationToken cancellationToken);

    /// <summary>One analysis of a rollout by its id, or null.</summary>
    Task<AnalysisRecord?> GetAnalysisAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces a requested analysis (its status moves Running → Succeeded or Failed).</summary>
    Task SaveRequestedAnalysisAsync(RequestedAnalysis analysis, CancellationToken cancellationToken);

    Task<RequestedAnalysis?> GetRequestedAnalysisAsync(Guid id, CancellationToken cancellationToken);

    /// <exception cref="ArgumentException">query.After is not a cursor this store gave.</exception>
    Task<Page<RequestedAnalysis>> FindRequestedAnalysesAsync(AnalysisQuery query, CancellationToken cancellationToken);

    /// <summary>Marks analyses still Running but not updated since staleSince (their replica stopped beating) as Failed with reason; returns how many.</summary>
    Task<int> AbandonRunningAnalysesAsync(string reason, DateTimeOffset staleSince, CancellationToken cancellationToken);

    /// <summary>A running analysis's heartbeat: sets its updated_at if it is still Running; false when it is not (cancelled or failed elsewhere).</summary>
    Task<bool> TouchRequestedAnalysisAsync(Guid id, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Marks a Running analysis Cancelled with the reason; false when it was not running.</summary>
    Task<bool> CancelRequestedAnalysisAsync(Guid id, string reason, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Creates or replaces a named config; true when it was created.</summary>
    Task<bool> PutConfigAsync(NamedConfig config, CancellationToken cancellationToken);

    Task<NamedConfig?> GetConfigAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<NamedConfig>> ListConfigsAsync(CancellationToken cancellationToken);

    /// <summary>True when there was one to delete.</summary>
    Task<bool> DeleteConfigAsync(string name, CancellationToken cancellationToken);
}
