using System.Net;
using Switchboard.Peers;

namespace Switchboard.Transport;

/// <summary>
/// Produces authenticated, encrypted connections whose NodeInfo has been exchanged and checked (CometBFT's
/// MultiplexTransport). Implementations: <see cref="TcpTransport"/> and <see cref="MemoryTransport"/>; both run
/// the same upgrade (SecretConnection → dialed-ID check → NodeInfo exchange → validation, self, compatibility).
/// </summary>
public interface ITransport : IAsyncDisposable
{
    /// <summary>The address we listen on (with our ID), once <see cref="ListenAsync"/> has completed.</summary>
    NetAddress? ListenAddress { get; }

    /// <summary>The NodeInfo sent to every peer. Set it before the first dial; inbound upgrades that begin before it is
    /// set (a Switch learns its port only after listening) wait for it within the handshake timeout.</summary>
    NodeInfo? LocalNodeInfo { get; set; }

    /// <summary>Starts listening. Port 0 picks a free port; the returned address carries the real one.</summary>
    Task<NetAddress> ListenAsync(IPEndPoint endpoint, CancellationToken cancellationToken = default);

    /// <summary>Waits for the next inbound connection that completed the upgrade.</summary>
    /// <exception cref="ObjectDisposedException">the transport was closed.</exception>
    ValueTask<TransportConnection> AcceptAsync(CancellationToken cancellationToken = default);

    /// <summary>Dials <paramref name="address"/> and upgrades the connection; the remote must prove the dialed ID.</summary>
    /// <exception cref="PeerRejectedException">a filter or a handshake check refused the connection.</exception>
    /// <exception cref="P2PTimeoutException">the dial or the handshake took longer than configured.</exception>
    ValueTask<TransportConnection> DialAsync(NetAddress address, CancellationToken cancellationToken = default);
}
