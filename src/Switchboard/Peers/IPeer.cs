using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;

namespace Switchboard.Peers;

/// <summary>A connected peer: one MConnection, the peer's NodeInfo and a key/value store for reactors.</summary>
public interface IPeer
{
    /// <summary>The authenticated node ID.</summary>
    NodeId Id { get; }

    /// <summary>The checked NodeInfo the peer sent.</summary>
    NodeInfo NodeInfo { get; }

    /// <summary>True when we dialed the peer.</summary>
    bool IsOutbound { get; }

    /// <summary>True when the peer is one of the configured persistent peers (we redial it when it goes away).</summary>
    bool IsPersistent { get; }

    /// <summary>True when the peer's ID is unconditional (not subject to the inbound/outbound limits).</summary>
    bool IsUnconditional { get; }

    /// <summary>The dialed address (outbound) or the remote socket address (inbound), with the peer's ID.</summary>
    NetAddress SocketAddress { get; }

    /// <summary>The remote IP address.</summary>
    IPAddress RemoteIp { get; }

    /// <summary>When the peer was added.</summary>
    DateTimeOffset ConnectedAt { get; }

    /// <summary>True while the connection is up.</summary>
    bool IsRunning { get; }

    /// <summary>True if the peer advertised <paramref name="channelId"/> in its NodeInfo.</summary>
    bool HasChannel(byte channelId);

    /// <summary>Queues a message without waiting. False if the queue is full, the connection is down, or the peer did not advertise the channel.</summary>
    bool TrySend(byte channelId, ReadOnlyMemory<byte> message);

    /// <summary>Queues a message, waiting for room up to the send timeout. Same refusals as <see cref="TrySend"/>.</summary>
    /// <remarks>Do not await it on a loop that serves other peers too (a reactor's ReceiveAsync, an agent's read loop):
    /// a peer that stops reading would hold them all up. Answer with <see cref="Envelope.Reply(ReadOnlyMemory{byte})"/>
    /// or use <see cref="TrySend"/> there.</remarks>
    ValueTask<bool> SendAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <summary>Reads a value a reactor stored for this peer.</summary>
    object? Get(string key);

    /// <summary>Stores a value for this peer (thread-safe). A null value removes the key.</summary>
    void Set(string key, object? value);

    /// <summary>Connection statistics per channel.</summary>
    MConnectionStatus GetStatus();
}
