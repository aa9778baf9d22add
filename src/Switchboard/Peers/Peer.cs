using System.Collections.Concurrent;
using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Transport;

namespace Switchboard.Peers;

/// <summary>Lifecycle of a peer: Created → Running → Stopping → Stopped; never backwards.</summary>
internal enum PeerState { Created, Running, Stopping, Stopped }

/// <summary>The Switch's peer: owns the transport connection and the MConnection on top of it.</summary>
internal sealed class Peer : IPeer, IMConnectionHandler
{
    private readonly TransportConnection _connection;
    private readonly Switch _switch;
    private readonly ConcurrentDictionary<string, object> _data = new();
    private readonly bool[] _remoteChannels = new bool[256];
    private MConnection? _mconn;
    private int _state = (int)PeerState.Created;

    public Peer(Switch owner, TransportConnection connection, bool persistent, bool unconditional, DateTimeOffset now)
    {
        _switch = owner;
        _connection = connection;
        IsPersistent = persistent;
        IsUnconditional = unconditional;
        ConnectedAt = now;
        foreach (var ch in connection.NodeInfo.Channels.Span) _remoteChannels[ch] = true;
    }

    public NodeId Id => _connection.NodeInfo.Id;
    public NodeInfo NodeInfo => _connection.NodeInfo;
    public bool IsOutbound => _connection.IsOutbound;
    public bool IsPersistent { get; }
    public bool IsUnconditional { get; }
    public NetAddress SocketAddress => _connection.SocketAddress;
    public IPAddress RemoteIp => _connection.RemoteIp;
    public DateTimeOffset ConnectedAt { get; }
    public PeerState State => (PeerState)Volatile.Read(ref _state);
    public bool IsRunning => State == PeerState.Running && (_mconn?.IsRunning ?? false);

    /// <summary>Set when the Switch replaced or stopped this peer; read by the close callback.</summary>
    public DisconnectReason? StopReason { get; set; }

    public bool HasChannel(byte channelId) => _remoteChannels[channelId];

    public void Start(IReadOnlyList<ChannelDescriptor> channels, MConnectionOptions options, Microsoft.Extensions.Logging.ILogger logger)
    {
        _mconn = new MConnection(_connection.Stream, channels, this, options, logger);
        Interlocked.CompareExchange(ref _state, (int)PeerState.Running, (int)PeerState.Created);
        _mconn.Start();
    }

    public bool TrySend(byte channelId, ReadOnlyMemory<byte> message) =>
        _remoteChannels[channelId] && State == PeerState.Running && _mconn!.TrySend(channelId, message);

    public ValueTask<bool> SendAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        _remoteChannels[channelId] && State == PeerState.Running
            ? _mconn!.SendAsync(channelId, message, cancellationToken)
            : ValueTask.FromResult(false);

    public object? Get(string key) => _data.TryGetValue(key, out var v) ? v : null;

    public void Set(string key, object? value)
    {
        if (value is null) _data.TryRemove(key, out _);
        else _data[key] = value;
    }

    public MConnectionStatus GetStatus() => _mconn?.GetStatus() ?? throw new InvalidOperationException("peer not started");

    ValueTask IMConnectionHandler.OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
        _switch.RouteAsync(this, channelId, message, cancellationToken);

    void IMConnectionHandler.OnClosed(Exception? error)
    {
        // A local stop already knows its reason; anything else was the remote or the network.
        if (State is PeerState.Stopping or PeerState.Stopped) return;
        _switch.StopPeerInBackground(this, DisconnectReason.FromConnectionError(error));
    }

    /// <summary>Moves to Stopping exactly once; the caller that wins performs the stop.</summary>
    public bool TryBeginStop() =>
        Interlocked.CompareExchange(ref _state, (int)PeerState.Stopping, (int)PeerState.Running) == (int)PeerState.Running
        || Interlocked.CompareExchange(ref _state, (int)PeerState.Stopping, (int)PeerState.Created) == (int)PeerState.Created;

    /// <summary>Closes the connection, after sending what is queued when <paramref name="flush"/> is true.</summary>
    public async Task CloseAsync(bool flush, CancellationToken cancellationToken)
    {
        try
        {
            if (_mconn is not null)
            {
                if (flush)
                {
                    try
                    {
                        await _mconn.FlushStopAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or OperationCanceledException or P2PException or ObjectDisposedException)
                    {
                        // The remote went away while we flushed: nothing more to deliver.
                    }
                }
                await _mconn.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            Volatile.Write(ref _state, (int)PeerState.Stopped);
        }
    }

    public override string ToString() => $"Peer{{{Id} {(IsOutbound ? "out" : "in")} {SocketAddress.DialString}}}";
}
