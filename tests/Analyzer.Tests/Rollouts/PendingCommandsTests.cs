using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>How much of a command annotation is new, given what a stored tick applied under its id.</summary>
public sealed class PendingCommandsTests
{
    [Fact]
    public void With_nothing_applied_under_its_id_every_command_is_new_in_the_order_written()
    {
        Assert.Equal([RolloutCommand.Pause, RolloutCommand.Approve], new PendingCommands("a", "pause, approve").After(null));
    }

    [Fact]
    public void Commands_appended_after_the_applied_ones_are_the_only_new_ones()
    {
        Assert.Equal([RolloutCommand.Resume], new PendingCommands("a", "pause,resume").After("pause"));
        Assert.Equal([RolloutCommand.Resume], new PendingCommands("a", "Pause,resume").After("pause"));
        Assert.Empty(new PendingCommands("a", "pause").After("pause"));
    }

    [Fact]
    public void A_text_that_does_not_start_with_the_applied_one_is_new_as_a_whole()
    {
        Assert.Equal([RolloutCommand.Resume], new PendingCommands("a", "resume").After("pause"));
        Assert.Equal([RolloutCommand.Pause], new PendingCommands("a", "pause").After("pause,resume"));
    }

    [Fact]
    public void Unknown_words_are_no_commands()
    {
        Assert.Equal([RolloutCommand.Abort], new PendingCommands("a", "promote-now,abort,7").After(null));
    }

    [Fact]
    public void A_rollout_remembers_the_newest_ids_only_each_with_the_text_applied_so_far()
    {
        IReadOnlyList<AppliedCommand> remembered = [];
        for (var i = 0; i < PendingCommands.RememberedIds + 4; i++)
        {
            remembered = new PendingCommands($"id-{i}", "pause").Remember(remembered);
        }

        remembered = new PendingCommands("id-19", "pause,resume").Remember(remembered);
        Assert.Equal(PendingCommands.RememberedIds, remembered.Count);
        Assert.Equal("id-4", remembered[0].Id);
        Assert.Equal(new AppliedCommand("id-19", "pause,resume"), remembered[^1]);
        Assert.Single(remembered, r => r.Id == "id-19");
    }
}
