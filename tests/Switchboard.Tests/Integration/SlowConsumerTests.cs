using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;
using Switchboard.Transport;
using Xunit.Abstractions;

namespace Switchboard.Tests.Integration;

/// <summary>
/// A slow consumer never costs a good peer: a blocked reactor stops only its own channel, a flooder is the only peer
/// dropped from or disconnected, a peer that never reads is bounded by its budget and cut, stops do not wait on it.
/// </summary>
public class SlowConsumerTests(ITestOutputHelper output)
{
    /// <summary>A reactor whose every ReceiveAsync waits for <see cref="Gate"/>; records the order it was given messages.</summary>
    private sealed class GatedReactor(string name, ChannelDescriptor channel) : Reactor(name)
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ConcurrentQueue<(NodeId From, byte[] Message)> Received { get; } = new();
        public int Entered;
        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [channel];

        public override async ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Entered);
            await Gate.Task.WaitAsync(cancellationToken);
            Received.Enqueue((envelope.Source.Id, envelope.Message.ToArray()));
        }
    }

    /// <summary>Echoes with <see cref="Envelope.Reply(ReadOnlyMemory{byte})"/>, as the CLI's echo reactor does.</summary>
    private sealed class ReplyingEchoReactor(ChannelDescriptor channel) : Reactor("echo")
    {
        public ConcurrentQueue<MConnectionStatus> RemovedStatus { get; } = new();
        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [channel];

        public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            envelope.Reply(envelope.Message);
            return ValueTask.CompletedTask;
        }

        public override ValueTask RemovePeerAsync(IPeer peer, DisconnectReason reason, CancellationToken cancellationToken)
        {
            RemovedStatus.Enqueue(peer.GetStatus());
            return ValueTask.CompletedTask;
        }
    }

    private static byte[] Message(int tag, int length = 1000) => Enumerable.Repeat((byte)tag, length).ToArray();

    [Theory]
    [InlineData(ChannelFullMode.DropNewest)]
    [InlineData(ChannelFullMode.DisconnectPeer)]
    public async Task AReactorBlockedForTenMinutesStopsOnlyItsOwnChannel(ChannelFullMode mode)
    {
        var time = new ManualTimeProvider();
        var connection = new MConnectionOptions { TimeProvider = time };
        var blocked = new GatedReactor("blocked", new ChannelDescriptor(0x10, 1) { RecvMessageCapacity = 1000, RecvQueueBytes = 3000, FullMode = mode });
        var fast = new RecordingReactor("fast", Channels.Make(0x11));
        var kind = new MemoryKind();
        await using var a = await TestNode.StartAsync(kind, o => o with { Connection = connection }, s => { s.AddReactor(blocked); s.AddReactor(fast); });
        await using var b = await TestNode.StartAsync(kind, o => o with { Connection = connection },
            s => { s.OpenChannel(Channels.Make(0x10)); s.OpenChannel(Channels.Make(0x11)); });
        var toA = await b.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1, "connected");
        var toB = a.Switch.Peers[0];

        Assert.True(toA.TrySend(0x10, Message(0)));
        await Eventually.TrueAsync(() => blocked.Entered == 1, "a's reactor is blocked on channel 0x10");
        // Fill the peer's queue for 0x10 exactly (3 × 1000 bytes): within its budget, so even DisconnectPeer keeps it.
        for (var i = 1; i <= 3; i++) Assert.True(toA.TrySend(0x10, Message(i)));
        await Eventually.TrueAsync(() => toB.GetStatus().Channels[0].RecvQueueMessages == 3, "queue full");

        // Ten simulated minutes in 10 s steps: channel 0x11 keeps flowing, pings and pongs keep both sides alive.
        var steps = 60;
        for (var step = 0; step < steps; step++)
        {
            Assert.True(toA.TrySend(0x11, Message(step, 8)));
            if (mode == ChannelFullMode.DropNewest) Assert.True(toA.TrySend(0x10, Message(100 + step))); // over budget: dropped
            await Eventually.TrueAsync(() => fast.Received.Count == step + 1, $"0x11 message {step} delivered");
            if (mode == ChannelFullMode.DropNewest)
                await Eventually.TrueAsync(() => toB.GetStatus().Channels[0].MessagesDropped == step + 1, $"0x10 message {step} dropped");
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.True(toA.IsRunning && toB.IsRunning, $"still connected after {(step + 1) * 10} s");
        }
        Assert.Same(toB, Assert.Single(a.Switch.Peers));
        Assert.Same(toA, Assert.Single(b.Switch.Peers));
        Assert.Equal(Enumerable.Range(0, steps).Select(i => Message(i, 8)), fast.Received.Select(r => r.Message));

        blocked.Gate.SetResult();
        await Eventually.TrueAsync(() => blocked.Received.Count == 4, "the four accepted messages");
        Assert.Equal([Message(0), Message(1), Message(2), Message(3)], blocked.Received.Select(r => r.Message));
        Assert.Equal(mode == ChannelFullMode.DropNewest ? steps : 0, toB.GetStatus().Channels[0].MessagesDropped);
    }

    [Fact]
    public async Task BackPressureDropsThePeerAtThePauseLimitBlamingTheLocalChannel()
    {
        var time = new ManualTimeProvider();
        var connection = new MConnectionOptions { TimeProvider = time };
        var blocked = new GatedReactor("blocked", new ChannelDescriptor(0x10, 1) { RecvMessageCapacity = 1000, RecvQueueBytes = 3000 });
        var kind = new MemoryKind();
        await using var a = await TestNode.StartAsync(kind, o => o with { Connection = connection }, s => s.AddReactor(blocked));
        await using var b = await TestNode.StartAsync(kind, o => o with { Connection = connection }, s => s.OpenChannel(Channels.Make(0x10)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = a.Switch.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var toA = await b.Switch.DialPeerAsync(a.Address);
        Assert.IsType<PeerAdded>(await NextAsync(events));
        var toB = a.Switch.Peers[0];
        Assert.True(toA.TrySend(0x10, Message(0)));
        await Eventually.TrueAsync(() => blocked.Entered == 1, "blocked");
        for (var i = 1; i <= 4; i++) Assert.True(toA.TrySend(0x10, Message(i)));
        await Eventually.TrueAsync(() => toB.GetStatus().ReadPaused, "a paused reading b for channel 0x10");

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(toB.IsRunning);
        time.Advance(TimeSpan.FromSeconds(1)); // MaxReadPause (30 s), below the 45 s pong timeout of a CometBFT remote
        var removed = Assert.IsType<PeerRemoved>(await NextAsync(events));
        Assert.Equal(DisconnectKind.LocalConsumerStalled, removed.Reason.Kind);
        Assert.False(removed.Reason.ByRemote);
        Assert.Contains("channel 0x10", removed.Reason.Message);
        Assert.Contains("local", removed.Reason.Message);
        blocked.Gate.SetResult();
    }

    [Theory]
    [InlineData(ChannelFullMode.DropNewest)]
    [InlineData(ChannelFullMode.DisconnectPeer)]
    public async Task OneFlooderAmongNineHonestPeersIsTheOnlyOneCutAndHonestMessagesAreServedFirst(ChannelFullMode mode)
    {
        var kind = new MemoryKind();
        var reactor = new GatedReactor("slow", new ChannelDescriptor(0x20, 1) { RecvMessageCapacity = 1000, RecvQueueBytes = 10_000, FullMode = mode });
        await using var hub = await TestNode.StartAsync(kind, register: s => s.AddReactor(reactor));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = new ConcurrentQueue<PeerEvent>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in hub.Switch.WatchPeersAsync(cts.Token)) events.Enqueue(e);
        }, cts.Token);
        var clients = new List<TestNode>();
        try
        {
            for (var i = 0; i < 10; i++)
                clients.Add(await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x20, queue: 1000)), listen: false));
            var links = new List<IPeer>();
            foreach (var c in clients) links.Add(await c.Switch.DialPeerAsync(hub.Address));
            await Eventually.TrueAsync(() => hub.Switch.Peers.Count == 10, "all connected");
            var flooder = clients[0].Id;
            IPeer HubSide(NodeId id) => hub.Switch.GetPeer(id)!;

            // The flooder's first message blocks the reactor; 10 more fill its 10 KB share; 20 more go over it.
            Assert.True(links[0].TrySend(0x20, Message(0)));
            await Eventually.TrueAsync(() => reactor.Entered == 1, "reactor blocked on the flooder's message");
            for (var i = 1; i <= 30; i++) Assert.True(links[0].TrySend(0x20, Message(i)));
            if (mode == ChannelFullMode.DropNewest)
                await Eventually.TrueAsync(() => HubSide(flooder).GetStatus().Channels[0].MessagesDropped == 20, "20 of the flooder's messages dropped");
            else
                await Eventually.TrueAsync(() => events.OfType<PeerRemoved>().Any(), "the flooder disconnected");

            // Now every honest peer sends one message; none of them is over its share.
            for (var i = 1; i < 10; i++) Assert.True(links[i].TrySend(0x20, Message(200 + i)));
            await Eventually.TrueAsync(() => clients.Skip(1).All(c => HubSide(c.Id).GetStatus().Channels[0].RecvQueueMessages == 1),
                "each honest message waits in its own peer's queue");
            reactor.Gate.SetResult();
            await Eventually.TrueAsync(() => reactor.Received.Count == 1 + 10 + 9, "everything accepted is delivered");

            // Round robin: after the held message, the nine honest messages come within the next ten deliveries,
            // not behind the flooder's ten queued ones.
            var order = reactor.Received.Select(r => r.From).ToList();
            var honestPositions = order.Select((id, index) => (id, index)).Where(x => x.id != flooder).Select(x => x.index).ToList();
            Assert.Equal(9, honestPositions.Count);
            Assert.All(honestPositions, p => Assert.InRange(p, 1, 10));
            // Per-peer order is kept for the flooder too.
            Assert.Equal(Enumerable.Range(0, 11).Select(i => Message(i)),
                reactor.Received.Where(r => r.From == flooder).Select(r => r.Message));

            // Only the flooder paid: honest peers are connected and lost nothing.
            foreach (var c in clients.Skip(1))
            {
                var peer = HubSide(c.Id);
                Assert.True(peer.IsRunning);
                Assert.Equal(0, peer.GetStatus().Channels[0].MessagesDropped);
            }
            if (mode == ChannelFullMode.DropNewest)
            {
                Assert.Equal(10, hub.Switch.Peers.Count);
                await Eventually.TrueAsync(() => events.OfType<MessagesDropped>().Any(d => d.TotalDropped == 20),
                    "a drop event with the total (published by the heartbeat)");
                Assert.All(events.OfType<MessagesDropped>(), d => Assert.Equal((flooder, (byte)0x20), (d.Peer.Id, d.ChannelId)));
            }
            else
            {
                var removed = Assert.Single(events.OfType<PeerRemoved>());
                Assert.Equal(flooder, removed.Peer.Id);
                Assert.Equal(DisconnectKind.SlowPeer, removed.Reason.Kind);
                Assert.True(removed.Reason.ByRemote);
                Assert.Contains("channel 0x20", removed.Reason.Message);
                Assert.Equal(9, hub.Switch.Peers.Count);
            }
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
            await cts.CancelAsync();
            await watching.ContinueWith(_ => { });
        }
    }

    [Fact]
    public async Task APeerThatNeverReadsWhileSendingFourMiBMessagesStaysWithinItsBudgetAndOthersKeepTheirEchoes()
    {
        const int Size = 4 << 20;
        const long InboundBudget = 24L << 20, SendBudget = 8L << 20, Budget = InboundBudget + SendBudget;
        var kind = new TcpKind();
        var echoChannel = new ChannelDescriptor(0x77, 1) { RecvMessageCapacity = Size, RecvQueueBytes = 2 * Size, SendQueueCapacity = 4 };
        var echo = new ReplyingEchoReactor(echoChannel);
        await using var hub = await TestNode.StartAsync(kind, o => o with { Connection = o.Connection with { MaxBufferedBytes = InboundBudget, MaxSendBufferedBytes = SendBudget } },
            s => s.AddReactor(echo));
        AgentChannel? honestChannel = null;
        await using var honest = await TestNode.StartAsync(kind, register: s => honestChannel = s.OpenChannel(echoChannel), listen: false);
        var honestLink = await honest.Switch.DialPeerAsync(hub.Address);

        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var latencies = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            // The attacker: a real handshake, then an MConnection over a stream it never reads from.
            await using var attacker = await NeverReadingPeer.ConnectAsync(hub.Address, echoChannel);
            var flood = attacker.FloodAsync(Message(round, Size));
            // While the attacker floods (and until it is cut), the honest peer's echoes come back at once.
            var during = 0;
            while (echo.RemovedStatus.Count == round || during < 20)
            {
                var payload = Message(during++, 1024);
                var clock = Stopwatch.StartNew();
                Assert.True(honestLink.TrySend(0x77, payload));
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var back = await honestChannel!.ReadAsync(wait.Token);
                latencies.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(payload, back.Message.ToArray());
                if (during > 100_000) break;
            }
            await Eventually.TrueAsync(() => echo.RemovedStatus.Count == round + 1, $"attacker {round} cut", TimeSpan.FromSeconds(60));
            await attacker.StopAsync();
            await flood;
            var status = echo.RemovedStatus.Last();
            output.WriteLine($"round {round}: attacker queued {attacker.MessagesQueued} messages; hub held at most {status.PeakBufferedBytes >> 20} MiB " +
                $"for it; {during} honest echoes meanwhile");
            Assert.InRange(status.PeakBufferedBytes, 1, Budget);
            Assert.True(status.Channels[0].MessagesReceived >= 1, "the hub received the attacker's messages");
            // Nothing of the attacker is retained once it is gone.
            await Eventually.TrueAsync(() => hub.Switch.SharedBufferBytesInUse == 0, "the shared pool is empty again");
            var retained = GC.GetTotalMemory(forceFullCollection: true) - baseline;
            output.WriteLine($"round {round}: managed heap {retained >> 20:+0;-0} MiB over the baseline after the attacker left");
            Assert.True(retained < 16L << 20, $"{retained} bytes retained after attacker {round} left");
        }
        latencies.Sort();
        output.WriteLine($"honest echo round trips: p50 {latencies[latencies.Count / 2]:0.0} ms, max {latencies[^1]:0.0} ms");
        Assert.True(honestLink.IsRunning);
    }

    [Fact]
    public async Task AGracefulStopOfAPeerThatNeverReadsEndsAtItsDeadlineWhileOtherPeersComeAndGo()
    {
        var time = new ManualTimeProvider();
        var kind = new TcpKind();
        var channel = new ChannelDescriptor(0x30, 1) { SendQueueCapacity = 64, RecvMessageCapacity = 1 << 20 };
        await using var hub = await TestNode.StartAsync(kind,
            o => o with { GracefulStopTimeout = TimeSpan.FromSeconds(10), Connection = o.Connection with { TimeProvider = time } },
            s => s.OpenChannel(channel));
        await using var attacker = await NeverReadingPeer.ConnectAsync(hub.Address, channel);
        await Eventually.TrueAsync(() => hub.Switch.Peers.Count == 1, "attacker connected");
        var stuck = hub.Switch.Peers[0];
        // Far more than the socket buffers hold: the hub's send loop ends up inside a write that cannot finish.
        var queued = 0;
        while (stuck.TrySend(0x30, Message(queued, 1 << 20))) queued++;
        Assert.True(queued >= 16);
        var stop = hub.Switch.StopPeerGracefullyAsync(stuck, "test");

        // The stop holds no lock while it drains: peers are added and removed meanwhile.
        await using (var other = await TestNode.StartAsync(kind, register: s => s.OpenChannel(channel), listen: false))
        {
            await other.Switch.DialPeerAsync(hub.Address);
            await Eventually.TrueAsync(() => hub.Switch.GetPeer(other.Id) is not null, "another peer added during the stop");
        }
        await Eventually.TrueAsync(() => hub.Switch.Peers.Count == 0, "that peer removed again during the stop");
        Assert.False(stop.IsCompleted);
        Assert.Null(hub.Switch.GetPeer(attacker.Id)); // out of the peer set from the start of the stop

        time.Advance(TimeSpan.FromSeconds(10));
        await Eventually.WithinAsync(stop, "the graceful stop ends at its deadline");
        Assert.False(stuck.IsRunning);
    }

    [Fact]
    public async Task RemovePeerRunsAfterTheConnectionStoppedWhenAReactorStopsThePeerFromReceive()
    {
        var kind = new MemoryKind();
        var seen = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopper = new StoppingReactor(seen);
        await using var a = await TestNode.StartAsync(kind, register: s => s.AddReactor(stopper));
        await using var b = await TestNode.StartAsync(kind, register: s => s.OpenChannel(Channels.Make(0x40)));
        var toA = await b.Switch.DialPeerAsync(a.Address);
        Assert.True(toA.TrySend(0x40, Message(1, 10)));
        Assert.True(await Eventually.WithinAsync(seen.Task, "RemovePeer"), "the connection's loops had ended when RemovePeer ran");
    }

    [Fact]
    public async Task RepliesAreBoundedByBytesNotByTheChannelsMessageCount()
    {
        // Default SendQueueCapacity (1): a reactor answering one request with five replies at once must not cut the peer.
        var kind = new MemoryKind();
        var replier = new FiveRepliesReactor();
        await using var a = await TestNode.StartAsync(kind, register: s => s.AddReactor(replier));
        AgentChannel? channel = null;
        await using var b = await TestNode.StartAsync(kind, register: s => channel = s.OpenChannel(new ChannelDescriptor(0x41, 1) { SendQueueCapacity = 10 }));
        var toA = await b.Switch.DialPeerAsync(a.Address);
        Assert.True(toA.TrySend(0x41, Message(1, 10)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        for (var i = 0; i < 5; i++) Assert.Equal(Message(i, 10), (await channel!.ReadAsync(cts.Token)).Message.ToArray());
        Assert.Equal(5, replier.Accepted);
        Assert.True(toA.IsRunning);
    }

    private sealed class FiveRepliesReactor() : Reactor("replies")
    {
        public int Accepted;
        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [new ChannelDescriptor(0x41, 1)];

        public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            for (var i = 0; i < 5; i++)
                if (envelope.Reply(Message(i, 10))) Accepted++;
            return ValueTask.CompletedTask;
        }
    }

    private sealed class StoppingReactor(TaskCompletionSource<bool> seen) : Reactor("stopper")
    {
        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [Channels.Make(0x40)];

        public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            Switch!.StopPeerForError(envelope.Source, null, "stopped from the receive path");
            return ValueTask.CompletedTask;
        }

        public override ValueTask RemovePeerAsync(IPeer peer, DisconnectReason reason, CancellationToken cancellationToken)
        {
            seen.TrySetResult(((Peer)peer).Connection!.Completion.IsCompleted);
            return ValueTask.CompletedTask;
        }
    }

    private static async Task<PeerEvent> NextAsync(IAsyncEnumerator<PeerEvent> events)
    {
        Assert.True(await events.MoveNextAsync());
        return events.Current;
    }
}

/// <summary>
/// A peer that completes the real handshake, then sends through an MConnection whose transport reads never complete:
/// it never reads what the node sends it (so the node's writes to it stall once the socket buffers are full).
/// </summary>
internal sealed class NeverReadingPeer : IAsyncDisposable
{
    private readonly TcpTransport _transport;
    private readonly MConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private long _queued;

    private NeverReadingPeer(TcpTransport transport, MConnection connection, NodeId id)
    {
        _transport = transport;
        _connection = connection;
        Id = id;
    }

    public NodeId Id { get; }

    public long MessagesQueued => Interlocked.Read(ref _queued);

    public static async Task<NeverReadingPeer> ConnectAsync(NetAddress hub, ChannelDescriptor channel)
    {
        var key = NodeKey.Generate();
        var transport = new TcpTransport(key, new TransportOptions { AllowDuplicateIp = true });
        transport.LocalNodeInfo = new NodeInfo
        {
            ProtocolVersion = new ProtocolVersion(8, 11, 0),
            Id = key.Id,
            ListenAddr = "0.0.0.0:0",
            Network = "test-chain",
            Version = "0.38.19",
            Channels = new[] { channel.Id },
            Moniker = "never-reads",
            TxIndex = "off",
        };
        var conn = await transport.DialAsync(hub);
        var mconn = new MConnection(new NeverReadStream(conn.Stream), [channel], new IgnoringHandler(),
            new MConnectionOptions { WriteStallTimeout = TimeSpan.FromMinutes(10), PingInterval = TimeSpan.FromHours(1), PongTimeout = TimeSpan.FromMinutes(59) });
        mconn.Start();
        return new NeverReadingPeer(transport, mconn, key.Id);
    }

    public bool TrySend(byte channel, byte[] message) => _connection.TrySend(channel, message);

    /// <summary>Sends <paramref name="message"/> over and over until stopped or the connection ends.</summary>
    public async Task FloodAsync(byte[] message)
    {
        try
        {
            while (!_stop.IsCancellationRequested && await _connection.SendAsync(0x77, message, _stop.Token)) Interlocked.Increment(ref _queued);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _transport.DisposeAsync();
        _stop.Dispose();
    }

    private sealed class IgnoringHandler : IMConnectionHandler
    {
        public ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public void OnClosed(Exception? error) { }
    }

    private sealed class NeverReadStream(Stream inner) : Stream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
