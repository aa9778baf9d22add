using System.Net;
using Switchboard.Peers;

namespace Switchboard.Transport;

/// <summary>An upgraded connection: an authenticated byte stream and the checked NodeInfo of the remote.</summary>
public sealed class TransportConnection : IAsyncDisposable
{
    private Action? _onClose;
    private int _disposed;

    internal TransportConnection(Stream stream, NodeInfo nodeInfo, bool isOutbound, NetAddress socketAddress, Action? onClose)
    {
        Stream = stream;
        NodeInfo = nodeInfo;
        IsOutbound = isOutbound;
        SocketAddress = socketAddress;
        _onClose = onClose;
    }

    /// <summary>The encrypted, authenticated stream (a SecretConnection).</summary>
    public Stream Stream { get; }

    /// <summary>The remote's NodeInfo, already validated and checked against ours.</summary>
    public NodeInfo NodeInfo { get; }

    /// <summary>True when we dialed.</summary>
    public bool IsOutbound { get; }

    /// <summary>The dialed address for outbound connections; the remote socket address (with the peer's ID) for inbound ones.</summary>
    public NetAddress SocketAddress { get; }

    /// <summary>The remote IP address.</summary>
    public IPAddress RemoteIp => SocketAddress.Ip;

    /// <summary>Closes the stream and releases the transport's bookkeeping (connection set, accept slot). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            await Stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Closing an already broken connection: nothing left to release on the stream side.
        }
        Interlocked.Exchange(ref _onClose, null)?.Invoke();
    }
}
