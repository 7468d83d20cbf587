using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Rollouts;

/// <summary>
/// The commands waiting on a rollout as its source holds them (the Canary's canary.dev/command
/// annotation, or local mode's inbox): the text, comma-separated in the order given, and the id
/// canary wrote beside it (canary.dev/command-id). The store remembers, per id, how much of the text
/// a stored tick carried out; only what comes after that is applied, so a crash or a lost race
/// between taking, storing and clearing never applies a command twice and never loses one.
/// </summary>
internal sealed record PendingCommands(string? Id, string Text)
{
    /// <summary>The most command ids a rollout's row remembers (the newest); the source clears an id long before it would be forgotten.</summary>
    public const int RememberedIds = 16;

    public static PendingCommands None { get; } = new(null, string.Empty);

    /// <summary>The commands of the text, unknown words left out.</summary>
    public IReadOnlyList<RolloutCommand> Commands => Parse(Text);

    /// <summary>
    /// The commands not yet carried out, given the text a stored tick applied under this id: all of
    /// them when none was (or the text was replaced since), else those appended after it.
    /// </summary>
    public IReadOnlyList<RolloutCommand> After(string? applied)
    {
        if (applied is null)
        {
            return Commands;
        }

        var done = Words(applied);
        var all = Words(Text);
        return all.Count >= done.Count && all.Take(done.Count).SequenceEqual(done, StringComparer.OrdinalIgnoreCase)
            ? Parse(string.Join(',', all.Skip(done.Count)))
            : Commands;
    }

    /// <summary>The ids a rollout remembers after a tick that applied this text: this id's entry updated, the oldest dropped beyond <see cref="RememberedIds"/>.</summary>
    public IReadOnlyList<AppliedCommand> Remember(IReadOnlyList<AppliedCommand> remembered)
    {
        ArgumentNullException.ThrowIfNull(remembered);
        if (Id is null)
        {
            return remembered;
        }

        var kept = remembered.Where(a => a.Id != Id).ToList();
        kept.Add(new AppliedCommand(Id, Text));
        return kept.Count > RememberedIds ? kept[^RememberedIds..] : kept;
    }

    public override string ToString() => Id is null ? Text : $"{Text} (id {Id})";

    private static List<string> Words(string text) => [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    private static List<RolloutCommand> Parse(string text) =>
        [.. Words(text).Select(c => Enum.TryParse<RolloutCommand>(c, ignoreCase: true, out var command) && Enum.IsDefined(command) ? command : (RolloutCommand?)null).OfType<RolloutCommand>()];
}
