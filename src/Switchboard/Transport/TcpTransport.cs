using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Transport;

/// <summary>TCP transport: listens with an accept limit, dials with a timeout, upgrades every connection.</summary>
public sealed class TcpTransport : ITransport, ICoreTransport
{
    private readonly TransportCore _core;

    TransportCore ICoreTransport.Core => _core;
    private readonly NodeKey _nodeKey;
    private readonly ILogger _logger;
    private Socket? _listener;
    private Task? _acceptLoop;

    /// <summary>Creates a transport that authenticates as <paramref name="nodeKey"/>.</summary>
    public TcpTransport(NodeKey nodeKey, TransportOptions? options = null, ILogger? logger = null)
    {
        _nodeKey = nodeKey;
        _logger = logger ?? NullLogger.Instance;
        _core = new TransportCore(nodeKey, options ?? new TransportOptions(), _logger);
    }

    /// <inheritdoc/>
    public NetAddress? ListenAddress { get; private set; }

    /// <inheritdoc/>
    public NodeInfo? LocalNodeInfo { get => _core.LocalNodeInfo; set => _core.LocalNodeInfo = value; }

    /// <summary>Inbound upgrades in progress (tests).</summary>
    internal int PendingUpgrades => _core.PendingUpgrades;

    /// <inheritdoc/>
    public Task<NetAddress> ListenAsync(IPEndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (_listener is not null) throw new InvalidOperationException("already listening");
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // No SocketOptionName.ReuseAddress: on Linux and macOS .NET maps it to SO_REUSEPORT, which lets a second
            // process bind the same port and take half of our inbound connections. Without it a port in use is
            // AddressAlreadyInUse; .NET still sets SO_REUSEADDR on Unix, so a restart is not blocked by TIME_WAIT.
            socket.Bind(endpoint);
            socket.Listen(128);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _listener = socket;
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        ListenAddress = new NetAddress(_nodeKey.Id, bound.Address, (ushort)bound.Port);
        TransportLog.Listening(_logger, ListenAddress.ToString());
        _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        return Task.FromResult(ListenAddress);
    }

    private async Task AcceptLoopAsync()
    {
        var token = _core.Closing;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                // Like Go's netutil.LimitListener: take a slot first, so excess connections wait in the backlog.
                await _core.AcquireInboundSlotAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                socket = await _listener!.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                _core.ReleaseInboundSlot();
                return;
            }
            catch (SocketException ex)
            {
                // Transient accept errors (ECONNABORTED, EMFILE): log and keep accepting.
                _core.ReleaseInboundSlot();
                TransportLog.AcceptFailed(_logger, ex);
                continue;
            }
            socket.NoDelay = true;
            var remote = (IPEndPoint)socket.RemoteEndPoint!;
            _core.HandleInbound(new NetworkStream(socket, ownsSocket: true), Normalize(remote));
        }
    }

    /// <inheritdoc/>
    public ValueTask<TransportConnection> AcceptAsync(CancellationToken cancellationToken = default) =>
        _core.AcceptAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask<TransportConnection> DialAsync(NetAddress address, CancellationToken cancellationToken = default) =>
        _core.DialAsync(address, async token =>
        {
            var socket = new Socket(address.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address.Ip, address.Port), token).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }, cancellationToken);

    private static IPEndPoint Normalize(IPEndPoint ep) =>
        ep.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ep.Address.MapToIPv4(), ep.Port) : ep;

    /// <summary>Stops listening, aborts handshakes in progress and closes queued connections.</summary>
    public async ValueTask DisposeAsync()
    {
        var disposing = _core.DisposeAsync();
        _listener?.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        await disposing.ConfigureAwait(false);
    }
}
