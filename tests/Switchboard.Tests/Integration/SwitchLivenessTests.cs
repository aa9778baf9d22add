using Switchboard.Conn;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Integration;

public class SwitchLivenessTests
{
    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task AReactorBlockedLongerThanThePongTimeoutDoesNotKillTheConnection(TransportKind kind)
    {
        // Both connections run on one manual clock: 60 s ping interval, 45 s pong timeout (the defaults).
        var time = new ManualTimeProvider();
        var connection = new MConnectionOptions { TimeProvider = time };
        var blocked = new RecordingReactor("blocked", Channels.Make(0x10)) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var a = await TestNode.StartAsync(kind, o => o with { Connection = connection }, s => s.AddReactor(blocked));
        await using var b = await TestNode.StartAsync(kind, o => o with { Connection = connection }, s => s.OpenChannel(Channels.Make(0x10)));
        var toA = await b.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1, "connected");
        var toB = a.Switch.Peers[0];

        Assert.True(await toA.SendAsync(0x10, "hold"u8.ToArray()));
        await Eventually.TrueAsync(() => toB.GetStatus().Channels[0].MessagesReceived == 1, "a's reactor is now blocked on the message");

        // Three ping rounds (3 min of simulated time, four times the pong timeout) while a's reactor stays blocked.
        // Each round is exactly one ping interval, so only one ping per side is in flight at a time.
        long aBefore = toB.GetStatus().PacketsReceived, bBefore = toA.GetStatus().PacketsReceived;
        time.Advance(TimeSpan.FromSeconds(60));
        for (var round = 1; round <= 3; round++)
        {
            // Each side receives the other's ping and the pong to its own ping.
            await Eventually.TrueAsync(() => toB.GetStatus().PacketsReceived >= aBefore + 2 * round && toA.GetStatus().PacketsReceived >= bBefore + 2 * round,
                $"ping/pong round {round} completed");
            time.Advance(TimeSpan.FromSeconds(46)); // past the pong timeout: must not fire, the pongs arrived
            Assert.True(toA.IsRunning && toB.IsRunning);
            time.Advance(TimeSpan.FromSeconds(14)); // to the next ping
        }
        Assert.True(toA.IsRunning && toB.IsRunning);
        Assert.Single(a.Switch.Peers);
        Assert.Single(b.Switch.Peers);

        blocked.Gate!.SetResult();
        await Eventually.TrueAsync(() => blocked.Received.Count == 1, "the held message is delivered once the reactor resumes");
        Assert.Single(a.Switch.Peers);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task PeersRefuseChannelsTheRemoteDidNotAdvertise(TransportKind kind)
    {
        await using var a = await TestNode.StartAsync(kind, register: s => { s.OpenChannel(Channels.Make(0x10)); s.OpenChannel(Channels.Make(0x11)); });
        await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x10)));
        await b.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1, "connected");
        var toB = a.Switch.Peers[0];
        Assert.True(toB.HasChannel(0x10));
        Assert.False(toB.HasChannel(0x11));
        Assert.True(toB.TrySend(0x10, new byte[] { 1 }));
        Assert.False(toB.TrySend(0x11, new byte[] { 1 }));
        Assert.False(await toB.SendAsync(0x11, new byte[] { 1 }));
        Assert.Equal(1, a.Switch.TryBroadcast(0x10, new byte[] { 2 }));
        Assert.Equal(0, a.Switch.TryBroadcast(0x11, new byte[] { 2 }));
    }

    [Fact]
    public async Task PersistentPeerGivenByHostNameIsResolvedWhenDialed()
    {
        var kind = new TcpKind();
        await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x10)));
        await using var a = await TestNode.StartAsync(kind,
            o => o with { PersistentPeers = [new Switchboard.Peers.DialAddress(b.Id, "localhost", b.Address.Port)] },
            s => s.OpenChannel(Channels.Make(0x10)));
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1, "dialed localhost");
        Assert.True(a.Switch.Peers[0].IsPersistent);
        Assert.True(System.Net.IPAddress.IsLoopback(a.Switch.Peers[0].RemoteIp));
    }
}
