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
    /// <remarks>Gossip: when a peer floods us faster than we take its transactions, its newest are dropped (they will come
    /// again from other peers) instead of pausing its connection.</remarks>
    public static readonly ChannelDescriptor Channel = new(0x30, Priority: 5)
    {
        SendQueueCapacity = 1000,
        RecvMessageCapacity = 1 << 20,
        FullMode = ChannelFullMode.DropNewest,
    };

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
            var catchUps = new List<Task>();
            await foreach (var e in _switch.WatchPeersAsync(cancellationToken))
            {
                if (e is not PeerAdded added) continue;
                // Each new peer is caught up on its own task: waiting for one slow peer's queue here would hold up
                // every peer that connects after it.
                catchUps.RemoveAll(t => t.IsCompleted);
                catchUps.Add(SendPoolAsync(added.Peer, cancellationToken));
            }
            await Task.WhenAll(catchUps);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SendPoolAsync(IPeer peer, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var tx in _pool.Values)
                if (!await _channel.SendAsync(peer, tx, cancellationToken)) return; // gone, or not reading
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
