using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Gossip;

/// <summary>
/// Flood gossip on one agent channel (<see cref="Switch.OpenChannel"/>), the building block of the testnets'
/// traffic and of the mempool example: a node publishes payloads as numbered messages of its own stream, every node
/// delivers each message once (the first copy) and relays it to all its other peers, so a message reaches every node
/// connected to the network by any path. Best effort, as gossip is: a full send queue drops the message for that peer
/// (counted), and nothing is sent again later — an application that needs catch-up (the mempool) sends what it holds
/// to a new peer with <see cref="SendTo"/>.
/// <para>What it checks on every message it receives (<see cref="GossipMessage"/> has the layout):</para>
/// <list type="bullet">
/// <item><b>corrupted</b>: the checksum does not match; the message is neither delivered nor relayed.</item>
/// <item><b>duplicate</b>: a copy of a message already delivered, normally the same message over a second path (or our
/// own coming back); dropped, as it should be.</item>
/// <item><b>reordered within channel</b>: on one connection (a sender, a link id) the link sequence the sender stamped
/// at queueing is lower than the next one expected. The library delivers each (peer, channel) in order, so this must
/// never happen; a duplicate on one connection counts here too.</item>
/// <item><b>channel gap</b>: a link sequence above the next one expected: messages the sender queued that did not
/// arrive on that connection — only the receiving side's drop-newest policy may do that (and counts it).</item>
/// <item><b>late</b>: a message delivered after one with a higher sequence of the same stream — expected when
/// copies race over paths of different delay; reported, not an error.</item>
/// <item><b>missing</b>: per stream, the numbers between the lowest and highest delivered that never came.</item>
/// </list>
/// </summary>
internal sealed class FloodGossip
{
    /// <summary>Streams remembered at most (4096 origins × restarts); messages of further streams are refused (counted).</summary>
    public const int MaxStreams = 4096;

    /// <summary>Connections whose order is tracked at most; past that the table starts over (the counts are kept).</summary>
    public const int MaxLinks = 4096;

    private readonly Switch _switch;
    private readonly AgentChannel _channel;
    private readonly TimeProvider _time;
    private readonly Action<GossipMessage, IPeer>? _onDelivered;
    private readonly ConditionalWeakTable<IPeer, SendLink> _sendLinks = new();
    private readonly Dictionary<(NodeId Sender, ulong LinkId), ulong> _receiveLinks = [];
    private readonly Dictionary<GossipStreamId, StreamState> _streams = [];
    private readonly Lock _streamsLock = new();
    private ulong _nextSequence;
    private long _published, _sent, _dropped, _bytesSent, _received, _bytesReceived, _malformed, _corrupted, _delivered,
        _duplicates, _linkReordered, _linkGaps, _late, _refused;

    /// <summary>Opens the channel on <paramref name="sw"/> (before it starts).</summary>
    /// <param name="sw">The node's Switch.</param>
    /// <param name="descriptor">The gossip channel.</param>
    /// <param name="delivered">Called on the receive loop with the first copy of every message of another node, and who sent it.</param>
    /// <param name="time">Clock of the sent-at stamps and the epoch (default: the system clock).</param>
    public FloodGossip(Switch sw, ChannelDescriptor descriptor, Action<GossipMessage, IPeer>? delivered = null, TimeProvider? time = null)
    {
        _switch = sw;
        _time = time ?? TimeProvider.System;
        _onDelivered = delivered;
        _channel = sw.OpenChannel(descriptor);
        Self = sw.NodeId;
        // The start time in ms: a restarted node begins a new stream instead of reusing numbers.
        Epoch = (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public NodeId Self { get; }

    /// <summary>This node's stream epoch.</summary>
    public ulong Epoch { get; }

    public ChannelDescriptor Descriptor => _channel.Descriptor;

    /// <summary>Counters since the start.</summary>
    public GossipCounters Counters => new(
        Interlocked.Read(ref _published), Interlocked.Read(ref _sent), Interlocked.Read(ref _dropped), Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _received), Interlocked.Read(ref _bytesReceived), Interlocked.Read(ref _malformed),
        Interlocked.Read(ref _corrupted), Interlocked.Read(ref _delivered), Interlocked.Read(ref _duplicates),
        Interlocked.Read(ref _linkReordered), Interlocked.Read(ref _linkGaps), Interlocked.Read(ref _late), Interlocked.Read(ref _refused));

    /// <summary>What has been delivered of each stream of another node.</summary>
    public IReadOnlyList<GossipStreamStats> Streams()
    {
        lock (_streamsLock)
            return _streams.Where(s => s.Key.Origin != Self)
                .Select(s => new GossipStreamStats(s.Key, s.Value.Seen.Count, s.Value.Seen.Lowest, s.Value.Seen.Highest, s.Value.Seen.Missing,
                    s.Value.NewestSentAt, s.Value.NewestDeliveredAt))
                .ToList();
    }

    /// <summary>Creates the next message of our stream and queues it to every peer.</summary>
    public GossipMessage Publish(ReadOnlySpan<byte> payload)
    {
        GossipMessage message;
        lock (_streamsLock)
        {
            message = GossipMessage.Create(Self, Epoch, _nextSequence++, _time.GetUtcNow(), payload);
            // Our own messages coming back over another path are duplicates like any other.
            Stream(message.Stream)!.Seen.Add(message.Sequence);
        }
        Interlocked.Increment(ref _published);
        Relay(message, except: null);
        return message;
    }

    /// <summary>Queues <paramref name="message"/> (ours or one delivered to us) to one peer without waiting; false if its queue is full or it is gone.</summary>
    public bool SendTo(IPeer peer, GossipMessage message)
    {
        if (!peer.HasChannel(_channel.Descriptor.Id)) return false;
        var link = _sendLinks.GetValue(peer, static _ => new SendLink());
        // Stamping and queueing under one lock: the link sequence must be the queue's order.
        lock (link)
        {
            var stamped = message.Stamp(link.Id, link.Next);
            if (_channel.TrySend(peer, stamped.Bytes))
            {
                link.Next++;
                Interlocked.Increment(ref _sent);
                Interlocked.Add(ref _bytesSent, stamped.Bytes.Length);
                return true;
            }
        }
        if (peer.IsRunning) Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Reads the channel until the Switch stops (which completes it) or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await foreach (var e in _channel.ReadAllAsync(cancellationToken).ConfigureAwait(false)) Receive(e.Source, e.Message.Span);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Judges one received message, delivers and relays it if it is new (the receive loop; internal for the tests).</summary>
    internal void Receive(IPeer source, ReadOnlySpan<byte> bytes)
    {
        Interlocked.Increment(ref _received);
        Interlocked.Add(ref _bytesReceived, bytes.Length);
        switch (GossipMessage.TryRead(bytes, out var message))
        {
            case GossipMessage.ReadResult.Malformed:
                Interlocked.Increment(ref _malformed);
                return;
            case GossipMessage.ReadResult.Corrupted:
                Interlocked.Increment(ref _corrupted);
                return;
        }
        CheckLink(source.Id, message.LinkId, message.LinkSequence);
        bool first;
        lock (_streamsLock)
        {
            if (Stream(message.Stream) is not { } stream)
            {
                Interlocked.Increment(ref _refused);
                return;
            }
            var wasEmpty = stream.Seen.IsEmpty;
            var highest = stream.Seen.Highest;
            first = stream.Seen.Add(message.Sequence);
            if (first)
            {
                if (!wasEmpty && message.Sequence < highest) Interlocked.Increment(ref _late);
                if (message.SentAt >= stream.NewestSentAt)
                {
                    stream.NewestSentAt = message.SentAt;
                    stream.NewestDeliveredAt = _time.GetUtcNow();
                }
            }
        }
        if (!first)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }
        Interlocked.Increment(ref _delivered);
        _onDelivered?.Invoke(message, source);
        Relay(message, except: source.Id);
    }

    /// <summary>The receive loop alone touches the link table.</summary>
    private void CheckLink(NodeId sender, ulong linkId, ulong linkSequence)
    {
        var key = (sender, linkId);
        if (_receiveLinks.TryGetValue(key, out var expected))
        {
            if (linkSequence < expected) Interlocked.Increment(ref _linkReordered);
            else if (linkSequence > expected) Interlocked.Add(ref _linkGaps, (long)(linkSequence - expected));
            if (linkSequence < expected) return;
        }
        else
        {
            if (_receiveLinks.Count >= MaxLinks) _receiveLinks.Clear();
            // A connection we have not seen before starts at 0; if it does not, what came before it went missing.
            if (linkSequence > 0) Interlocked.Add(ref _linkGaps, (long)linkSequence);
        }
        _receiveLinks[key] = linkSequence + 1;
    }

    private StreamState? Stream(GossipStreamId id)
    {
        if (_streams.TryGetValue(id, out var s)) return s;
        if (_streams.Count >= MaxStreams) return null;
        return _streams[id] = new StreamState();
    }

    private void Relay(GossipMessage message, NodeId? except)
    {
        foreach (var peer in _switch.Peers)
            if (peer.Id != except) SendTo(peer, message);
    }

    private sealed class SendLink
    {
        public ulong Id { get; } = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

        public ulong Next { get; set; }
    }

    private sealed class StreamState
    {
        public SequenceSet Seen { get; } = new();

        public DateTimeOffset NewestSentAt { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset NewestDeliveredAt { get; set; } = DateTimeOffset.MinValue;
    }
}

/// <summary>The counters of a <see cref="FloodGossip"/> (see its summary for what each check means).</summary>
/// <param name="Published">Messages of our own.</param>
/// <param name="Sent">Messages queued to peers, our own and relayed, one per peer.</param>
/// <param name="Dropped">Sends refused by a full queue of a connected peer.</param>
/// <param name="BytesSent">Bytes of the sent messages.</param>
/// <param name="Received">Messages received, every copy.</param>
/// <param name="BytesReceived">Bytes of the received messages.</param>
/// <param name="Malformed">Received messages that are not gossip of this version.</param>
/// <param name="Corrupted">Received messages whose checksum did not match.</param>
/// <param name="Delivered">First copies of other nodes' messages.</param>
/// <param name="Duplicates">Further copies (other paths, our own coming back).</param>
/// <param name="LinkReordered">Messages that came on one connection before one the sender had queued earlier (or twice).</param>
/// <param name="LinkGaps">Messages a sender queued on a connection that did not come on it.</param>
/// <param name="Late">Messages delivered after a higher-numbered one of the same stream (path races).</param>
/// <param name="Refused">Messages of streams past <see cref="FloodGossip.MaxStreams"/>.</param>
internal readonly record struct GossipCounters(long Published, long Sent, long Dropped, long BytesSent, long Received, long BytesReceived,
    long Malformed, long Corrupted, long Delivered, long Duplicates, long LinkReordered, long LinkGaps, long Late, long Refused);

/// <summary>What one node has of another node's stream.</summary>
/// <param name="Stream">Origin and epoch.</param>
/// <param name="Delivered">Distinct messages delivered.</param>
/// <param name="Lowest">Lowest sequence delivered.</param>
/// <param name="Highest">Highest sequence delivered.</param>
/// <param name="Missing">Sequences between the lowest and the highest that never came.</param>
/// <param name="NewestSentAt">The latest sent-at stamp among the delivered messages.</param>
/// <param name="NewestDeliveredAt">When the message with that stamp was delivered (our clock).</param>
internal sealed record GossipStreamStats(GossipStreamId Stream, long Delivered, ulong Lowest, ulong Highest, long Missing,
    DateTimeOffset NewestSentAt, DateTimeOffset NewestDeliveredAt);
