using System.Buffers.Binary;
using Switchboard.Conn;
using Switchboard.Gossip;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// The test traffic of a testnet node, on the shared <see cref="FloodGossip"/> block: every <c>interval</c> the node
/// publishes a small message of its own (its stream's next sequence number), and relays every message it sees for the
/// first time to its other peers, so a message reaches every node connected to the network by any path, not only the
/// originator's direct peers. The block checks every message (checksum, duplicates, per-connection order, gaps).
/// </summary>
internal sealed class GossipAgent
{
    /// <summary>0x77: outside CometBFT's channel ranges; the same channel the echo diagnostics use.</summary>
    public const byte ChannelId = 0x77;

    /// <summary>16 bytes of payload: the sequence number and a pattern derived from it, covered by the checksum.</summary>
    public const int PayloadSize = 16;

    /// <summary>The size of one gossip message on the wire (the block's header and checksum around the payload).</summary>
    public const int MessageSize = GossipMessage.Overhead + PayloadSize;

    /// <summary>
    /// The channel: priority 1 (the only data channel), 256 queued sends per peer (a relay burst of one round is at
    /// most one message per origin), messages up to 1 KiB (ours are <see cref="MessageSize"/>); gossip, so a peer that
    /// floods us faster than the agent reads has its newest messages dropped (and counted) rather than its connection
    /// paused.
    /// </summary>
    public static ChannelDescriptor Descriptor { get; } = new(ChannelId, Priority: 1)
    {
        SendQueueCapacity = 256,
        RecvMessageCapacity = 1024,
        RecvQueueBytes = 256 * 1024,
        FullMode = ChannelFullMode.DropNewest,
    };

    private readonly FloodGossip _gossip;
    private readonly TimeSpan _interval;

    /// <summary>Opens the channel on <paramref name="host"/>'s Switch (before it starts).</summary>
    /// <param name="host">The node.</param>
    /// <param name="interval">Time between two messages of our own.</param>
    public GossipAgent(NodeHost host, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
        _gossip = new FloodGossip(host.Switch, Descriptor);
    }

    /// <summary>The block, for its counters and streams.</summary>
    public FloodGossip Gossip => _gossip;

    /// <summary>Messages queued to peers (our own and relayed).</summary>
    public long Sent => _gossip.Counters.Sent;

    /// <summary>Messages received, duplicates included.</summary>
    public long Received => _gossip.Counters.Received;

    public long BytesSent => _gossip.Counters.BytesSent;

    public long BytesReceived => _gossip.Counters.BytesReceived;

    /// <summary>Other nodes whose messages reached us (a restarted node counts once).</summary>
    public int OriginsHeard => _gossip.Streams().Select(s => s.Stream.Origin).Distinct().Count();

    /// <summary>Runs the send loop until <paramref name="cancellationToken"/> fires.</summary>
    public async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        var payload = new byte[PayloadSize];
        ulong n = 0;
        try
        {
            do
            {
                BinaryPrimitives.WriteUInt64BigEndian(payload, n);
                for (var i = 8; i < payload.Length; i++) payload[i] = (byte)(n * 31 + (ulong)i);
                _gossip.Publish(payload);
                n++;
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Reads the channel until the Switch stops (which completes it).</summary>
    public Task ReceiveLoopAsync() => _gossip.RunAsync();
}
