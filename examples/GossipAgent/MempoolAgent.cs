using System.Collections.Concurrent;
using System.Security.Cryptography;
using Switchboard;
using Switchboard.Conn;
using Switchboard.Peers;

namespace GossipAgent;

/// <summary>
/// A transaction pool gossiped on channel 0x30, written as an agent (no Reactor subclass), after the mempool
/// agent of the original Tendermint design: every new transaction is forwarded to every peer except its source,
/// and a newly connected peer is sent the whole pool. Transactions are raw bytes identified by their SHA-256.
/// </summary>
public sealed class MempoolAgent
{
    /// <summary>0x30: CometBFT's mempool channel.</summary>
    public static readonly ChannelDescriptor Channel = new(0x30, Priority: 5) { SendQueueCapacity = 1000, RecvMessageCapacity = 1 << 20 };

    private readonly AgentChannel _channel;
    private readonly Switch _switch;
    private readonly ConcurrentDictionary<string, byte[]> _pool = new();

    public MempoolAgent(Switch sw)
    {
        _switch = sw;
        _channel = sw.OpenChannel(Channel);
    }

    public int Count => _pool.Count;

    /// <summary>Adds a local transaction and gossips it.</summary>
    public bool Submit(byte[] tx) => Accept(tx, source: null);

    /// <summary>Runs the two loops of the agent until cancelled: incoming transactions and peer arrivals.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(ReceiveLoopAsync(cancellationToken), PeerLoopAsync(cancellationToken));

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var envelope in _channel.ReadAllAsync(cancellationToken))
                Accept(envelope.Message.ToArray(), envelope.Source);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PeerLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in _switch.WatchPeersAsync(cancellationToken))
            {
                if (e is not PeerAdded added) continue;
                foreach (var tx in _pool.Values)
                    await _channel.SendAsync(added.Peer, tx, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private bool Accept(byte[] tx, IPeer? source)
    {
        var id = Convert.ToHexString(SHA256.HashData(tx));
        if (!_pool.TryAdd(id, tx)) return false;
        foreach (var peer in _switch.Peers)
            if (peer.Id != source?.Id)
                _channel.TrySend(peer, tx);
        return true;
    }
}
