using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Transport;

/// <summary>
/// The seam for transports of your own (Unix sockets, WebSockets, QUIC streams, a test harness…): supply raw duplex
/// byte streams — bind, accept, connect — and this class runs the same upgrade as <see cref="TcpTransport"/> and
/// <see cref="MemoryTransport"/> on them: connection filters, SecretConnection, dialed-ID check, NodeInfo exchange and
/// checks, all under <see cref="TransportOptions.HandshakeTimeout"/>, with the same inbound-connection limit. As in
/// rust-libp2p, the transport only moves bytes; authentication and encryption are the library's.
/// </summary>
/// <remarks>
/// Addresses are <see cref="IPEndPoint"/>s, as everywhere in CometBFT's p2p layer (NetAddress, PEX, the address
/// book); a transport whose native addresses are not IP maps them onto endpoints of its own choosing.
/// </remarks>
/// <example>
/// <code>
/// sealed class PipeTransport(NodeKey key) : StreamTransport(key)
/// {
///     protected override ValueTask&lt;IPEndPoint&gt; BindAsync(IPEndPoint endpoint, CancellationToken ct) => …;
///     protected override ValueTask&lt;(Stream Stream, IPEndPoint Remote)&gt; AcceptStreamAsync(CancellationToken ct) => …;
///     protected override ValueTask&lt;Stream&gt; ConnectStreamAsync(IPEndPoint remote, CancellationToken ct) => …;
/// }
/// </code>
/// </example>
public abstract class StreamTransport : ITransport, ICoreTransport
{
    private readonly NodeKey _nodeKey;
    private readonly ILogger _logger;
    private readonly TransportCore _core;
    private Task? _acceptLoop;
    private int _listening;

    /// <summary>Creates the transport for the node <paramref name="nodeKey"/>.</summary>
    protected StreamTransport(NodeKey nodeKey, TransportOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(nodeKey);
        _nodeKey = nodeKey;
        _logger = logger ?? NullLogger.Instance;
        _core = new TransportCore(nodeKey, options ?? new TransportOptions(), _logger);
    }

    TransportCore ICoreTransport.Core => _core;

    /// <inheritdoc/>
    public NetAddress? ListenAddress { get; private set; }

    /// <inheritdoc/>
    public NodeInfo? LocalNodeInfo { get => _core.LocalNodeInfo; set => _core.LocalNodeInfo = value; }

    /// <summary>Starts listening: <see cref="BindAsync"/>, then a loop that takes an inbound slot and
    /// <see cref="AcceptStreamAsync"/> for each connection, upgrading each in the background.</summary>
    public async Task<NetAddress> ListenAsync(IPEndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (Interlocked.Exchange(ref _listening, 1) != 0) throw new InvalidOperationException("already listening");
        var bound = await BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        ListenAddress = new NetAddress(_nodeKey.Id, bound.Address, (ushort)bound.Port);
        TransportLog.Listening(_logger, ListenAddress.ToString());
        _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        return ListenAddress;
    }

    private async Task AcceptLoopAsync()
    {
        var token = _core.Closing;
        while (!token.IsCancellationRequested)
        {
            try
            {
                // A slot first, so excess connections wait in the implementation's backlog (as TcpTransport does).
                await _core.AcquireInboundSlotAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            (Stream Stream, IPEndPoint Remote) accepted;
            try
            {
                accepted = await AcceptStreamAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                _core.ReleaseInboundSlot();
                return;
            }
            catch (IOException ex)
            {
                // Transient, as a socket's ECONNABORTED: log and keep accepting.
                _core.ReleaseInboundSlot();
                TransportLog.AcceptFailed(_logger, ex);
                continue;
            }
            catch (Exception ex)
            {
                // Anything else is a broken listener; retrying it would spin.
                _core.ReleaseInboundSlot();
                TransportLog.AcceptFailed(_logger, ex);
                return;
            }
            if (accepted.Stream is null || accepted.Remote is null)
            {
                _core.ReleaseInboundSlot();
                throw new InvalidOperationException($"{GetType().Name}.AcceptStreamAsync returned no stream or no remote endpoint");
            }
            _core.HandleInbound(accepted.Stream, accepted.Remote);
        }
    }

    /// <inheritdoc/>
    public ValueTask<TransportConnection> AcceptAsync(CancellationToken cancellationToken = default) =>
        _core.AcceptAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask<TransportConnection> DialAsync(NetAddress address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        return _core.DialAsync(address, token => ConnectStreamAsync(new IPEndPoint(address.Ip, address.Port), token), cancellationToken);
    }

    /// <summary>Starts listening on <paramref name="endpoint"/> (port 0: pick one) and returns the endpoint actually bound.</summary>
    protected abstract ValueTask<IPEndPoint> BindAsync(IPEndPoint endpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Waits for the next inbound raw connection and returns it with the remote's endpoint (which the duplicate-IP rule
    /// and the peer's address use). Throw <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/>
    /// is cancelled (the transport is closing); an <see cref="IOException"/> is logged and accepting goes on.
    /// </summary>
    protected abstract ValueTask<(Stream Stream, IPEndPoint Remote)> AcceptStreamAsync(CancellationToken cancellationToken);

    /// <summary>Opens a raw connection to <paramref name="remote"/>; <see cref="TransportOptions.DialTimeout"/> cancels <paramref name="cancellationToken"/>.</summary>
    protected abstract ValueTask<Stream> ConnectStreamAsync(IPEndPoint remote, CancellationToken cancellationToken);

    /// <summary>Releases the listener after the accept loop has stopped. Nothing by default.</summary>
    protected virtual ValueTask CloseListenerAsync() => ValueTask.CompletedTask;

    /// <summary>Stops listening, aborts handshakes in progress and closes queued connections.</summary>
    public async ValueTask DisposeAsync()
    {
        var disposing = _core.DisposeAsync();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        await CloseListenerAsync().ConfigureAwait(false);
        await disposing.ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
