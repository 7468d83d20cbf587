using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Serving;

namespace Canary.Analyzer.Tests.Serving;

/// <summary>Local mode's command inbox keeps the protocol of the Canary's annotation: one id per batch, cleared only after the tick that carried it out.</summary>
public sealed class MemoryInboxTests
{
    private readonly MemoryInbox inbox = new();

    [Fact]
    public async Task Commands_sent_before_a_tick_are_taken_together_under_one_id()
    {
        await inbox.SendAsync("shop", "checkout", RolloutCommand.Approve, CancellationToken.None);
        var first = await inbox.TakeAsync("shop", "checkout", CancellationToken.None);
        await inbox.SendAsync("shop", "checkout", RolloutCommand.Pause, CancellationToken.None);

        var both = await inbox.TakeAsync("shop", "checkout", CancellationToken.None);
        Assert.Equal("approve,pause", both.Text);
        Assert.Equal(first.Id, both.Id);
    }

    [Fact]
    public async Task Commands_carried_out_are_cleared()
    {
        await inbox.SendAsync("shop", "checkout", RolloutCommand.Abort, CancellationToken.None);
        var taken = await inbox.TakeAsync("shop", "checkout", CancellationToken.None);

        await inbox.ClearAsync("shop", "checkout", taken, CancellationToken.None);
        Assert.Equal(PendingCommands.None, await inbox.TakeAsync("shop", "checkout", CancellationToken.None));
    }

    [Fact]
    public async Task A_command_that_arrived_during_the_tick_outlives_the_clear()
    {
        await inbox.SendAsync("shop", "checkout", RolloutCommand.Approve, CancellationToken.None);
        var taken = await inbox.TakeAsync("shop", "checkout", CancellationToken.None);
        await inbox.SendAsync("shop", "checkout", RolloutCommand.Pause, CancellationToken.None);

        await inbox.ClearAsync("shop", "checkout", taken, CancellationToken.None);
        Assert.Equal("approve,pause", (await inbox.TakeAsync("shop", "checkout", CancellationToken.None)).Text);
    }

    [Fact]
    public async Task Each_rollout_has_its_own_commands()
    {
        await inbox.SendAsync("shop", "checkout", RolloutCommand.Approve, CancellationToken.None);
        Assert.Equal(PendingCommands.None, await inbox.TakeAsync("shop", "cart", CancellationToken.None));
    }
}
