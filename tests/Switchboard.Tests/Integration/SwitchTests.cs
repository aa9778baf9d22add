using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Integration;

/// <summary>Switch behaviour over real connections, on TCP loopback and on the in-memory transport.</summary>
public class SwitchTests
{
    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task ReactorsReceiveExactlyTheMessagesOfTheirChannels(TransportKind kind)
    {
        RecordingReactor ra1 = new("a1", Channels.Make(0x10)), ra2 = new("a2", Channels.Make(0x11));
        RecordingReactor rb1 = new("b1", Channels.Make(0x10)), rb2 = new("b2", Channels.Make(0x11));
        await using var a = await TestNode.StartAsync(kind, register: s => { s.AddReactor(ra1); s.AddReactor(ra2); });
        await using var b = await TestNode.StartAsync(kind, register: s => { s.AddReactor(rb1); s.AddReactor(rb2); });

        var peer = await b.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1 && ra1.Added.Count == 1, "a sees b");
        for (var i = 0; i < 50; i++)
        {
            Assert.True(await peer.SendAsync(0x10, new[] { (byte)i }));
            Assert.True(await peer.SendAsync(0x11, new byte[] { (byte)i, 0xFF }));
        }
        await Eventually.TrueAsync(() => ra1.Received.Count == 50 && ra2.Received.Count == 50, "all delivered");
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (byte)i), ra1.Received.Select(r => r.Message.Single()));
        Assert.All(ra1.Received, r => Assert.Equal((b.Id, (byte)0x10), (r.From, r.Channel)));
        Assert.All(ra2.Received, r => Assert.Equal(2, r.Message.Length));
        Assert.Empty(rb1.Received);
        Assert.Equal([a.Id], rb1.Added);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task FiveNodesConnectAndBroadcastReachesAll(TransportKind kind)
    {
        var reactors = Enumerable.Range(0, 5).Select(i => new RecordingReactor($"r{i}", Channels.Make(0x20))).ToArray();
        var nodes = new List<TestNode>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var earlier = nodes.Select(n => new DialAddress(n.Id, n.Address.Ip.ToString(), n.Address.Port)).ToList();
                var r = reactors[i];
                nodes.Add(await TestNode.StartAsync(kind, o => o with { PersistentPeers = earlier }, s => s.AddReactor(r)));
            }
            await Eventually.TrueAsync(() => nodes.All(n => n.Switch.Peers.Count == 4), "full mesh of 5");

            var results = await nodes[2].Switch.BroadcastAsync(0x20, "hello"u8.ToArray());
            Assert.Equal(4, results.Count);
            Assert.All(results.Values, Assert.True);
            await Eventually.TrueAsync(() => reactors.Where((_, i) => i != 2).All(r => r.Received.Count == 1), "broadcast delivered");
            Assert.Empty(reactors[2].Received);
            Assert.Equal(4, nodes[0].Switch.TryBroadcast(0x20, "x"u8.ToArray()));
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task AgentsReadChannelsAsStreamsAndWatchPeerEvents(TransportKind kind)
    {
        AgentChannel? agentA = null;
        await using var a = await TestNode.StartAsync(kind, register: s => agentA = s.OpenChannel(Channels.Make(0x30)));
        await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x30)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = a.Switch.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        var peer = await b.Switch.DialPeerAsync(a.Address);
        Assert.True(await events.MoveNextAsync());
        var added = Assert.IsType<PeerAdded>(events.Current);
        Assert.Equal(b.Id, added.Peer.Id);

        for (var i = 0; i < 10; i++) Assert.True(await peer.SendAsync(0x30, new[] { (byte)i }));
        var got = new List<byte>();
        await foreach (var e in agentA!.ReadAllAsync(cts.Token))
        {
            Assert.Equal(b.Id, e.Source.Id);
            got.Add(e.Message.Span[0]);
            if (got.Count == 10) break;
        }
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (byte)i), got);

        await b.Switch.StopAsync();
        Assert.True(await events.MoveNextAsync());
        var removed = Assert.IsType<PeerRemoved>(events.Current);
        Assert.Equal(b.Id, removed.Peer.Id);
        Assert.True(removed.Reason.ByRemote);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DuplicateChannelRegistrationIsRejected(TransportKind kind)
    {
        await using var a = await TestNode.StartAsync(kind, register: s =>
        {
            s.AddReactor(new RecordingReactor("first", Channels.Make(0x40)));
            var ex = Assert.Throws<ArgumentException>(() => s.AddReactor(new RecordingReactor("second", Channels.Make(0x40))));
            Assert.Contains("0x40", ex.Message);
        });
        Assert.Throws<InvalidOperationException>(() => a.Switch.AddReactor(new RecordingReactor("late", Channels.Make(0x41))));
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task PersistentPeerComesBackAfterTheRemoteRestarts(TransportKind kind)
    {
        var time = new ManualTimeProvider();
        var keyB = NodeKey.Generate();
        var ipB = IPAddress.Parse("100.80.0.2");
        await using var b1 = await TestNode.StartAsync(kind, key: keyB, ip: ipB, register: s => s.OpenChannel(Channels.Make(0x50)));
        var addressB = b1.Address;
        await using var a = await TestNode.StartAsync(kind,
            o => o with { TimeProvider = time, PersistentPeers = [new DialAddress(keyB.Id, addressB.Ip.ToString(), addressB.Port)] },
            s => s.OpenChannel(Channels.Make(0x50)));
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1, "initial connection");
        Assert.True(a.Switch.Peers[0].IsPersistent);

        await b1.Switch.StopAsync();
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0, "a notices b is gone");

        // Restart b on the same address; a redials on its schedule, driven by the manual clock (5 s + jitter < 8 s).
        var b3 = await StartOnAsync(kind, keyB, ipB, addressB);
        await using var _ = b3;
        await Eventually.TrueAsync(() =>
        {
            if (a.Switch.Peers.Count == 1) return true;
            time.Advance(TimeSpan.FromSeconds(1));
            return false;
        }, "a reconnects to the restarted b");
        Assert.Equal(keyB.Id, a.Switch.Peers[0].Id);
    }

    private static string Describe(TestNode lower, TestNode higher) =>
        $"lower has [{string.Join(",", lower.Switch.Peers.Select(p => p.IsOutbound ? "out" : "in"))}], "
        + $"higher has [{string.Join(",", higher.Switch.Peers.Select(p => p.IsOutbound ? "out" : "in"))}]";

    private static async Task<TestNode> StartOnAsync(TransportKind kind, NodeKey key, IPAddress ip, NetAddress address)
    {
        var options = new SwitchOptions { Network = "test-chain", AllowDuplicateIp = true, DialJitter = TimeSpan.Zero };
        var t = kind.Create(key, new Transport.TransportOptions { AllowDuplicateIp = true }, ip);
        var sw = new Switch(t, key, options);
        sw.OpenChannel(Channels.Make(0x50));
        var endpoint = kind.SharesIp ? new IPEndPoint(IPAddress.Loopback, address.Port) : new IPEndPoint(ip, address.Port);
        await sw.StartAsync(endpoint);
        return new TestNode { Key = key, Switch = sw };
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task InboundLimitHolds(TransportKind kind)
    {
        await using var hub = await TestNode.StartAsync(kind, o => o with { MaxInboundPeers = 2 }, s => s.OpenChannel(Channels.Make(0x60)));
        var clients = new List<TestNode>();
        try
        {
            for (var i = 0; i < 4; i++)
                clients.Add(await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x60)), listen: false));
            foreach (var c in clients)
            {
                try { await c.Switch.DialPeerAsync(hub.Address); }
                catch (Exception) { /* refused: expected for the clients beyond the limit */ }
            }
            await Eventually.TrueAsync(() => clients.Count(c => c.Switch.Peers.Count == 1) == 2, "exactly two clients stay connected");
            Assert.Equal(2, hub.Switch.NumInboundPeers);
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task SimultaneousDialEndsWithExactlyOneConnection(TransportKind kind)
    {
        for (var round = 0; round < 5; round++)
        {
            await using var a = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x70)));
            await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x70)));
            var da = Task.Run(() => a.Switch.DialPeerAsync(b.Address));
            var db = Task.Run(() => b.Switch.DialPeerAsync(a.Address));
            // The losing dial may be refused, or closed by the winner while its handshake is still finishing.
            try { await Task.WhenAll(da, db); } catch (Exception ex) when (ex is P2PException or IOException) { }
            // Converged: one connection seen from both ends, and it is the one dialed by the lower ID (the other
            // may be added first and replaced once by the tie-break, never more).
            var lower = a.Id.CompareTo(b.Id) < 0 ? a : b;
            var higher = ReferenceEquals(lower, a) ? b : a;
            await Eventually.TrueAsync(() =>
            {
                IReadOnlyList<IPeer> lp = lower.Switch.Peers, hp = higher.Switch.Peers;
                return lp.Count == 1 && hp.Count == 1 && lp[0].IsOutbound && !hp[0].IsOutbound;
            }, "one connection, dialed by the lower ID, seen from both ends: " + Describe(lower, higher));
            Assert.True(await lower.Switch.Peers.Single().SendAsync(0x70, new byte[] { 1 }));
        }
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DialRefusesDuplicatesAndSelf(TransportKind kind)
    {
        await using var a = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x71)));
        await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x71)));
        await b.Switch.DialPeerAsync(a.Address);
        var dup = await Assert.ThrowsAsync<PeerRejectedException>(() => b.Switch.DialPeerAsync(a.Address));
        Assert.Equal(RejectReason.Duplicate, dup.Reason);
        var self = await Assert.ThrowsAsync<PeerRejectedException>(() => a.Switch.DialPeerAsync(a.Address));
        Assert.Equal(RejectReason.Self, self.Reason);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task ReactorErrorDisconnectsOnlyTheSender(TransportKind kind)
    {
        var failing = new FailingReactor();
        await using var a = await TestNode.StartAsync(kind, register: s => { s.AddReactor(failing); s.OpenChannel(Channels.Make(0x73)); });
        await using var b = await TestNode.StartAsync(kind, register: s => { s.OpenChannel(Channels.Make(0x72)); s.OpenChannel(Channels.Make(0x73)); });
        await using var c = await TestNode.StartAsync(kind, register: s => { s.OpenChannel(Channels.Make(0x72)); s.OpenChannel(Channels.Make(0x73)); });
        var pb = await b.Switch.DialPeerAsync(a.Address);
        await c.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 2, "both connected");
        Assert.True(await pb.SendAsync(0x72, "boom"u8.ToArray()));
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1 && a.Switch.Peers[0].Id == c.Id, "only b was dropped");
        Assert.True(a.Switch.IsRunning);
    }

    private sealed class FailingReactor() : Reactor("failing")
    {
        public override IReadOnlyList<Switchboard.Conn.ChannelDescriptor> GetChannels() => [Channels.Make(0x72)];
        public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken) =>
            throw new ProtocolViolationException(ProtocolViolation.InvalidChannelMessage, "cannot decode");
    }
}

[Collection(SimulationCollection.Name)]
public class SwitchSimulationTests
{
    [Fact]
    public async Task TwoHundredNodeMemoryNetworkFormsAndTearsDown()
    {
        var kind = new MemoryKind();
        const int count = 200;
        var nodes = new List<TestNode>(count);
        try
        {
            var rng = new Random(7);
            for (var i = 0; i < count; i++)
            {
                var targets = nodes.Count == 0 ? [] : Enumerable.Range(0, 3).Select(_ => nodes[rng.Next(nodes.Count)]).Distinct()
                    .Select(n => new DialAddress(n.Id, n.Address.Ip.ToString(), n.Address.Port)).ToList();
                nodes.Add(await TestNode.StartAsync(kind, o => o with { PersistentPeers = targets, MaxInboundPeers = 100 },
                    s => s.OpenChannel(Channels.Make(0x01))));
            }
            await Eventually.TrueAsync(() => nodes.Skip(1).All(n => n.Switch.Peers.Count >= 1) && nodes.Sum(n => n.Switch.Peers.Count) >= 2 * (count - 1),
                "every node connected to its persistent peers", TimeSpan.FromSeconds(60));
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
        Assert.All(nodes, n => Assert.Empty(n.Switch.Peers));
    }
}
