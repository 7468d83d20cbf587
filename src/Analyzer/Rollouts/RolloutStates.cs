using System.Text.Json;
using System.Text.Json.Serialization;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Rollouts;

/// <summary>A rollout's state as the store keeps it: a JSON document of the rollouts' own (the store never reads into it).</summary>
internal static class RolloutStates
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static string Write(RolloutState state) => JsonSerializer.Serialize(state, Json);

    public static RolloutState Read(string json) => JsonSerializer.Deserialize<RolloutState>(json, Json) ?? new RolloutState();

    /// <summary>The stored rollout's state.</summary>
    public static RolloutState ReadState(this StoredRollout rollout)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        return Read(rollout.State);
    }
}
