using System.Collections.Concurrent;
using System.Security.Cryptography;
using Switchboard;
using Switchboard.Conn;
using Switchboard.Gossip;
using Switchboard.Peers;

namespace GossipAgent;

/// <summary>
/// A transaction pool gossiped on channel 0x30, written as an agent (no Reactor subclass), after the mempool
/// agent of the original Tendermint design, on the same flood-gossip block the testnet uses (src/Shared/Gossip):
/// every new transaction is forwarded to every peer except its source, and a newly connected peer is sent the whole
/// pool. Transactions are raw bytes identified by their SHA-256; the block checks each message's checksum and drops
/// the copies that arrive over a second path.
/// </summary>
public sealed class MempoolAgent
{
    /// <summary>0x30: CometBFT's mempool channel.</summary>
    /// <remarks>Gossip: when a peer floods us faster than we take its transactions, its newest are dropped (they will come
    /// again from other peers) instead of pausing its connection. 1000 queued sends per peer: a new peer's catch-up is
    /// queued without waiting, so a pool larger than that would need pacing.</remarks>
    public static readonly ChannelDescriptor Channel = new(0x30, Priority: 5)
    {
        SendQueueCapacity = 1000,
        RecvMessageCapacity = 1 << 20,
        FullMode = ChannelFullMode.DropNewest,
    };

    private readonly FloodGossip _gossip;
    private readonly Switch _switch;
    private readonly ConcurrentDictionary<string, GossipMessage> _pool = new();

    public MempoolAgent(Switch sw)
    {
        _switch = sw;
        _gossip = new FloodGossip(sw, Channel, (message, _) => _pool.TryAdd(TxId(message.Payload.Span), message));
    }

    public int Count => _pool.Count;

    /// <summary>Adds a local transaction and gossips it; false if the pool has it already.</summary>
    public bool Submit(byte[] tx)
    {
        var id = TxId(tx);
        if (_pool.ContainsKey(id)) return false;
        return _pool.TryAdd(id, _gossip.Publish(tx));
    }

    /// <summary>Runs the two loops of the agent until cancelled: incoming transactions and peer arrivals.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_gossip.RunAsync(cancellationToken), PeerLoopAsync(cancellationToken));

    private async Task PeerLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in _switch.WatchPeersAsync(cancellationToken))
            {
                // Catch-up: the peer gets what we hold; what it has already is dropped there as a duplicate.
                if (e is PeerAdded added)
                    foreach (var message in _pool.Values)
                        if (!_gossip.SendTo(added.Peer, message)) break; // gone, or its queue is full
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string TxId(ReadOnlySpan<byte> tx) => Convert.ToHexString(SHA256.HashData(tx));
}
