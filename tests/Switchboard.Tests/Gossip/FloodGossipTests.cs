using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Gossip;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Tests.Gossip;

/// <summary>The checks behind the chaos testnet's verdict, fed message by message (no network: the Switch is never started).</summary>
public sealed class FloodGossipTests : IAsyncDisposable
{
    private static readonly ChannelDescriptor Channel = new(0x77, Priority: 1);
    private readonly NodeKey _key = NodeKey.Generate();
    private readonly Switch _switch;
    private readonly FloodGossip _gossip;
    private readonly List<GossipMessage> _delivered = [];
    private readonly NodeId _origin = NodeKey.Generate().Id;

    public FloodGossipTests()
    {
        _switch = new Switch(new MemoryNetwork().CreateTransport(_key), _key, new SwitchOptions { Network = "gossip-test" });
        _gossip = new FloodGossip(_switch, Channel, (m, _) => _delivered.Add(m));
    }

    public ValueTask DisposeAsync() => _switch.DisposeAsync();

    private byte[] Message(ulong sequence, ulong linkId, ulong linkSequence, ulong epoch = 1) =>
        GossipMessage.Create(_origin, epoch, sequence, DateTimeOffset.UnixEpoch, [1, 2, 3]).Stamp(linkId, linkSequence).Bytes.ToArray();

    [Fact]
    public void InOrderOnOneConnectionIsClean()
    {
        var a = new FakePeer();
        for (ulong i = 0; i < 5; i++) _gossip.Receive(a, Message(i, linkId: 7, linkSequence: i));
        var c = _gossip.Counters;
        Assert.Equal((5L, 0L, 0L, 0L, 0L), (c.Delivered, c.Duplicates, c.LinkReordered, c.LinkGaps, c.Late));
        Assert.Equal([0UL, 1, 2, 3, 4], _delivered.Select(m => m.Sequence));
        var stream = Assert.Single(_gossip.Streams());
        Assert.Equal((5L, 0UL, 4UL, 0L), (stream.Delivered, stream.Lowest, stream.Highest, stream.Missing));
    }

    [Fact]
    public void ASecondPathGivesDuplicatesAndLateCopiesButNoChannelReordering()
    {
        var a = new FakePeer();
        var b = new FakePeer();
        // a relays 0, 1, 2; b is slower and relays 0, 1, 2 after them, each on its own connection and in its own order.
        for (ulong i = 0; i < 3; i++) _gossip.Receive(a, Message(i, linkId: 1, linkSequence: i));
        for (ulong i = 0; i < 3; i++) _gossip.Receive(b, Message(i, linkId: 2, linkSequence: i));
        // b then relays 4 before a relays 3: 3 is late (paths race), not reordered within a channel.
        _gossip.Receive(b, Message(4, linkId: 2, linkSequence: 3));
        _gossip.Receive(a, Message(3, linkId: 1, linkSequence: 3));
        var c = _gossip.Counters;
        Assert.Equal(5, c.Delivered);
        Assert.Equal(3, c.Duplicates);
        Assert.Equal(1, c.Late);
        Assert.Equal(0, c.LinkReordered);
        Assert.Equal(0, c.LinkGaps);
    }

    [Fact]
    public void AnOlderLinkSequenceOnOneConnectionIsReorderedAndASkipIsAGap()
    {
        var a = new FakePeer();
        _gossip.Receive(a, Message(0, linkId: 9, linkSequence: 0));
        _gossip.Receive(a, Message(2, linkId: 9, linkSequence: 2)); // link 1 never came: a gap of one
        _gossip.Receive(a, Message(1, linkId: 9, linkSequence: 1)); // ... and then it came after 2: reordered
        _gossip.Receive(a, Message(3, linkId: 9, linkSequence: 3));
        // A new connection of the same peer starts again at 0 without counting anything.
        _gossip.Receive(a, Message(4, linkId: 10, linkSequence: 0));
        var c = _gossip.Counters;
        Assert.Equal(1, c.LinkReordered);
        Assert.Equal(1, c.LinkGaps);
        Assert.Equal(5, c.Delivered);
    }

    [Fact]
    public void CorruptedAndForeignMessagesAreCountedAndNeverDelivered()
    {
        var a = new FakePeer();
        var damaged = Message(0, 1, 0);
        damaged[GossipMessage.HeaderSize] ^= 0xFF; // the first payload byte
        _gossip.Receive(a, damaged);
        _gossip.Receive(a, "not gossip"u8.ToArray());
        var c = _gossip.Counters;
        Assert.Equal((1L, 1L, 0L), (c.Corrupted, c.Malformed, c.Delivered));
        Assert.Empty(_delivered);
    }

    [Fact]
    public void GapsInAStreamAreMissingAndARestartIsANewStream()
    {
        var a = new FakePeer();
        ulong link = 0;
        foreach (var s in new ulong[] { 0, 1, 5, 6 }) _gossip.Receive(a, Message(s, 1, link++));
        foreach (var s in new ulong[] { 0, 1 }) _gossip.Receive(a, Message(s, 1, link++, epoch: 2));
        var streams = _gossip.Streams().OrderBy(s => s.Stream.Epoch).ToList();
        Assert.Equal(2, streams.Count);
        Assert.Equal(3, streams[0].Missing);
        Assert.Equal(0, streams[1].Missing);
        Assert.Equal(0, _gossip.Counters.Duplicates);
    }

    [Fact]
    public void OwnMessagesComingBackAreDuplicates()
    {
        var own = _gossip.Publish([9]);
        _gossip.Receive(new FakePeer(), own.Stamp(3, 0).Bytes.ToArray());
        Assert.Equal(1, _gossip.Counters.Duplicates);
        Assert.Empty(_gossip.Streams()); // only other nodes' streams are reported
    }

    private sealed class FakePeer : IPeer
    {
        public NodeId Id { get; } = NodeKey.Generate().Id;
        public NodeInfo NodeInfo => throw new NotSupportedException();
        public bool IsOutbound => false;
        public bool IsPersistent => false;
        public bool IsUnconditional => false;
        public NetAddress SocketAddress => throw new NotSupportedException();
        public IPAddress RemoteIp => IPAddress.Loopback;
        public DateTimeOffset ConnectedAt { get; } = DateTimeOffset.UnixEpoch;
        public bool IsRunning => true;
        public bool HasChannel(byte channelId) => true;
        public bool TrySend(byte channelId, ReadOnlyMemory<byte> message) => true;
        public ValueTask<bool> SendAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);
        public object? Get(string key) => null;
        public void Set(string key, object? value) { }
        public MConnectionStatus GetStatus() => throw new NotSupportedException();
    }
}
