using Switchboard.Peers;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Integration;

public class SwitchPolicyTests
{
    private sealed class SlowReactor(Switchboard.Conn.ChannelDescriptor channel) : Reactor("slow")
    {
        public readonly TaskCompletionSource Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Received;
        public override IReadOnlyList<Switchboard.Conn.ChannelDescriptor> GetChannels() => [channel];
        public override async ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            await Gate.Task.WaitAsync(cancellationToken);
            Interlocked.Increment(ref Received);
        }
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task AFullQueueUnderDisconnectPolicyDropsOnlyThatPeerAsSlow(TransportKind kind)
    {
        // Messages of 100 bytes, room for two of them waiting (the channel's capacity is 100 bytes).
        var slow = new SlowReactor(Channels.Make(0x10) with
        {
            RecvMessageCapacity = 100, RecvQueueBytes = 200, FullMode = Switchboard.Conn.ChannelFullMode.DisconnectPeer,
        });
        await using var a = await TestNode.StartAsync(kind, register: s => s.AddReactor(slow));
        await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x10)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = a.Switch.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var toA = await b.Switch.DialPeerAsync(a.Address);
        Assert.True(await events.MoveNextAsync());
        // One message is held by the blocked reactor, two fill the peer's queue, the fourth overflows it.
        for (var i = 0; i < 4; i++) Assert.True(await toA.SendAsync(0x10, Enumerable.Repeat((byte)i, 100).ToArray()));
        Assert.True(await events.MoveNextAsync());
        var removed = Assert.IsType<PeerRemoved>(events.Current);
        Assert.Equal(DisconnectKind.SlowPeer, removed.Reason.Kind);
        Assert.True(removed.Reason.ByRemote); // the peer went over its budget: its fault
        Assert.True(a.Switch.IsRunning);
        slow.Gate.SetResult();
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task UnconditionalPeersBypassTheInboundLimit(TransportKind kind)
    {
        var vip = Switchboard.Crypto.NodeKey.Generate();
        await using var hub = await TestNode.StartAsync(kind,
            o => o with { MaxInboundPeers = 1, UnconditionalPeerIds = [vip.Id] }, s => s.OpenChannel(Channels.Make(0x60)));
        await using var first = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x60)), listen: false);
        await using var second = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x60)), listen: false, key: vip);
        await first.Switch.DialPeerAsync(hub.Address);
        await Eventually.TrueAsync(() => hub.Switch.Peers.Count == 1, "first peer fills the inbound limit");
        await second.Switch.DialPeerAsync(hub.Address);
        await Eventually.TrueAsync(() => hub.Switch.Peers.Count == 2, "the unconditional peer is admitted beyond the limit");
        Assert.Equal(1, hub.Switch.NumInboundPeers);
        Assert.True(hub.Switch.GetPeer(vip.Id)!.IsUnconditional);
    }
}

public class ReconnectPolicyTests
{
    [Fact]
    public void FollowsCometBftsScheduleAndCapsInsteadOfGivingUp()
    {
        var policy = new ReconnectPolicy();
        var rng = new Random(1);
        for (var attempt = 1; attempt <= 20; attempt++)
        {
            var wait = policy.WaitBefore(attempt, rng);
            Assert.InRange(wait, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(8));
        }
        // Exponential phase: 3^1 … 3^7 s (+ jitter), then capped at one hour (+ jitter) for ever.
        double[] bases = [3, 9, 27, 81, 243, 729, 2187, 3600, 3600, 3600, 3600];
        for (var i = 0; i < bases.Length; i++)
        {
            var wait = policy.WaitBefore(21 + i, rng).TotalSeconds;
            Assert.InRange(wait, bases[i], bases[i] + 3);
        }
        Assert.Null(policy.MaxAttempts);
        Assert.InRange(policy.WaitBefore(10_000, rng).TotalSeconds, 3600, 3603);
    }

    [Fact]
    public void WithoutACapTheScheduleMatchesCometBftsTwentyFourHours()
    {
        var policy = new ReconnectPolicy { Jitter = TimeSpan.Zero, MaxBackoff = TimeSpan.MaxValue, MaxAttempts = 30 };
        var total = Enumerable.Range(21, 10).Sum(i => policy.WaitBefore(i, new Random(0)).TotalSeconds);
        Assert.Equal(88_572, total); // PROTOCOL.md 5.4: 3 + 9 + … + 59049 s ≈ 24.6 h
    }
}
