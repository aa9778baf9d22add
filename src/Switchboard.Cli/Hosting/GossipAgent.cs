using System.Buffers.Binary;
using Switchboard.Conn;
using Switchboard.Crypto;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// The test traffic of a testnet node on an agent channel (<see cref="Switch.OpenChannel"/>): every
/// <c>interval</c> the node broadcasts a small message of its own, and relays every message it sees for the first
/// time to its other peers, so a message reaches every node connected to the network by any path, not only the
/// originator's direct peers. Counts what it sends and receives, and from how many origins it has heard.
/// </summary>
internal sealed class GossipAgent
{
    /// <summary>0x77: outside CometBFT's channel ranges; the same channel the echo diagnostics use.</summary>
    public const byte ChannelId = 0x77;

    /// <summary>32 bytes: origin (u16), sequence (u64), 22 bytes of a pattern derived from both.</summary>
    public const int MessageSize = 32;

    /// <summary>
    /// The channel: priority 1 (the only data channel), 256 queued sends per peer (a relay burst of one round is at
    /// most one message per origin), messages up to 1 KiB (ours are 32 bytes); gossip, so a peer that floods us faster
    /// than the agent reads has its newest messages dropped (and counted) rather than its connection paused.
    /// </summary>
    public static ChannelDescriptor Descriptor { get; } = new(ChannelId, Priority: 1)
    {
        SendQueueCapacity = 256,
        RecvMessageCapacity = 1024,
        RecvQueueBytes = 256 * 1024,
        FullMode = ChannelFullMode.DropNewest,
    };

    private readonly NodeHost _host;
    private readonly AgentChannel _channel;
    private readonly int _origin;
    private readonly Window[] _windows;
    private readonly bool[] _heard;
    private readonly TimeSpan _interval;
    private long _sent, _received, _bytesSent, _bytesReceived, _malformed, _dropped;
    private int _originsHeard;
    private long _sequence;

    /// <summary>Opens the channel on <paramref name="host"/>'s Switch (before it starts).</summary>
    /// <param name="host">The node.</param>
    /// <param name="origin">This node's index among the <paramref name="origins"/> gossiping nodes.</param>
    /// <param name="origins">How many nodes gossip (message origins are 0 to origins − 1).</param>
    /// <param name="interval">Time between two messages of our own.</param>
    public GossipAgent(NodeHost host, int origin, int origins, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(origin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(origin, origins);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(origins, ushort.MaxValue);
        _host = host;
        _origin = origin;
        _interval = interval;
        _windows = new Window[origins];
        _heard = new bool[origins];
        _channel = host.Switch.OpenChannel(Descriptor);
    }

    /// <summary>Messages queued to peers (our own and relayed).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Messages received, duplicates included.</summary>
    public long Received => Interlocked.Read(ref _received);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Messages that were not ours (wrong size or origin); ignored, never relayed.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Sends refused because a peer's queue was full (gossip is best effort).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Other nodes whose messages reached us.</summary>
    public int OriginsHeard => Volatile.Read(ref _originsHeard);

    /// <summary>Runs the send loop until <paramref name="cancellationToken"/> fires.</summary>
    public async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do
            {
                var message = Create(_origin, _sequence++);
                Relay(message, except: null);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Reads the channel until the Switch stops (which completes it).</summary>
    public async Task ReceiveLoopAsync()
    {
        await foreach (var e in _channel.ReadAllAsync().ConfigureAwait(false))
        {
            Interlocked.Increment(ref _received);
            Interlocked.Add(ref _bytesReceived, e.Message.Length);
            if (!TryRead(e.Message.Span, out var origin, out var sequence) || origin >= _windows.Length)
            {
                Interlocked.Increment(ref _malformed);
                continue;
            }
            // Our own message coming back over another path, or one already seen: not relayed again.
            if (origin == _origin || !_windows[origin].Accept(sequence)) continue;
            if (!_heard[origin])
            {
                _heard[origin] = true;
                Interlocked.Increment(ref _originsHeard);
            }
            Relay(e.Message, except: e.Source.Id);
        }
    }

    private void Relay(ReadOnlyMemory<byte> message, NodeId? except)
    {
        // The buffer is never written after creation, so one copy serves every peer's queue.
        foreach (var peer in _host.Switch.Peers)
        {
            if (peer.Id == except || !peer.HasChannel(ChannelId)) continue;
            if (_channel.TrySend(peer, message))
            {
                Interlocked.Increment(ref _sent);
                Interlocked.Add(ref _bytesSent, message.Length);
            }
            else if (peer.IsRunning)
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    public static byte[] Create(int origin, long sequence)
    {
        var message = new byte[MessageSize];
        BinaryPrimitives.WriteUInt16BigEndian(message, (ushort)origin);
        BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(2), sequence);
        for (var i = 10; i < message.Length; i++) message[i] = (byte)(origin * 31 + sequence + i);
        return message;
    }

    public static bool TryRead(ReadOnlySpan<byte> message, out int origin, out long sequence)
    {
        origin = 0;
        sequence = 0;
        if (message.Length != MessageSize) return false;
        origin = BinaryPrimitives.ReadUInt16BigEndian(message);
        sequence = BinaryPrimitives.ReadInt64BigEndian(message[2..]);
        return sequence >= 0;
    }

    /// <summary>
    /// Duplicate filter per origin: the highest sequence seen and a bitmap of the 64 below it (the anti-replay window
    /// of IPsec/DTLS). Memory stays constant however long the testnet runs; a message more than 64 behind the newest
    /// counts as seen — at one message per interval that is 64 intervals late, long after any relay path.
    /// </summary>
    private struct Window
    {
        private long _highest;
        private ulong _mask;
        private bool _any;

        public bool Accept(long sequence)
        {
            if (!_any || sequence > _highest)
            {
                var shift = _any ? sequence - _highest : 64;
                _mask = shift >= 64 ? 1UL : (_mask << (int)shift) | 1UL;
                _highest = sequence;
                _any = true;
                return true;
            }
            var behind = _highest - sequence;
            if (behind >= 64) return false;
            var bit = 1UL << (int)behind;
            if ((_mask & bit) != 0) return false;
            _mask |= bit;
            return true;
        }
    }
}
