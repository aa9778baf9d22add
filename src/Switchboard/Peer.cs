using System.Collections.Concurrent;
using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

// In the root namespace with the Switch that owns it, not in Peers: the peer holds a TransportConnection, and
// Transport already depends on Peers (NetAddress, NodeInfo), so Peers must not depend on Transport.
namespace Switchboard;

/// <summary>Lifecycle of a peer: Created → Running → Stopping → Stopped; never backwards.</summary>
internal enum PeerState { Created, Running, Stopping, Stopped }

/// <summary>The Switch's peer: owns the transport connection and the MConnection on top of it.</summary>
internal sealed class Peer : IPeer
{
    private readonly TransportConnection _connection;
    private readonly Switch _switch;
    private readonly ConcurrentDictionary<string, object> _data = new();
    private readonly bool[] _remoteChannels = new bool[256];
    private readonly long[] _droppedPublished = new long[256];
    private MConnection? _mconn;
    private int _state = (int)PeerState.Created;
    private int _dropsPending;

    public Peer(Switch owner, TransportConnection connection, bool persistent, bool unconditional, DateTimeOffset now)
    {
        _switch = owner;
        _connection = connection;
        IsPersistent = persistent;
        IsUnconditional = unconditional;
        ConnectedAt = now;
        IdTag = connection.NodeInfo.Id.ToString();
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

    /// <summary>The node ID as text, made once (metric tags, logs).</summary>
    public string IdTag { get; }

    /// <summary>The connection (null before <see cref="Start"/>).</summary>
    internal MConnection? Connection => _mconn;

    /// <summary>Set when the Switch replaced or stopped this peer; read by the close callback.</summary>
    public DisconnectReason? StopReason { get; set; }

    public bool HasChannel(byte channelId) => _remoteChannels[channelId];

    public void Start(IReadOnlyList<ChannelDescriptor> channels, MConnectionOptions options, MConnectionHooks hooks,
        Microsoft.Extensions.Logging.ILogger logger)
    {
        _mconn = new MConnection(_connection.Stream, channels, hooks with { LaneOwner = this }, options, logger);
        Interlocked.CompareExchange(ref _state, (int)PeerState.Running, (int)PeerState.Created);
        _mconn.Start();
    }

    public bool TrySend(byte channelId, ReadOnlyMemory<byte> message)
    {
        if (!_remoteChannels[channelId] || State != PeerState.Running || !_mconn!.TrySend(channelId, message)) return false;
        _switch.Metrics.MessageSent(this, channelId, message.Length);
        return true;
    }

    public ValueTask<bool> SendAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        if (!_remoteChannels[channelId] || State != PeerState.Running) return new ValueTask<bool>(false);
        var sending = _mconn!.SendAsync(channelId, message, cancellationToken);
        // Queued at once (the usual case): no async state machine at all.
        if (sending.IsCompletedSuccessfully) return new ValueTask<bool>(Sent(sending.Result, channelId, message.Length));
        return SendWhenRoomAsync(sending, channelId, message.Length);
    }

    /// <summary>The send waits for queue room: pooled, so a sender held up by a slow link allocates nothing per message.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendWhenRoomAsync(ValueTask<bool> sending, byte channelId, int length) =>
        Sent(await sending.ConfigureAwait(false), channelId, length);

    private bool Sent(bool queued, byte channelId, int length)
    {
        if (queued) _switch.Metrics.MessageSent(this, channelId, length);
        return queued;
    }

    /// <summary>
    /// <see cref="Envelope.Reply(ReadOnlyMemory{byte})"/>: queues without waiting; a peer whose queue for the channel (or whose byte budget) is
    /// full does not read what it asks for, and is disconnected rather than waited for.
    /// </summary>
    public bool Reply(byte channelId, ReadOnlyMemory<byte> message)
    {
        if (!_remoteChannels[channelId] || State != PeerState.Running) return false;
        var connection = _mconn!;
        if (connection.TrySendReply(channelId, message))
        {
            _switch.Metrics.MessageSent(this, channelId, message.Length);
            return true;
        }
        // A reply larger than the whole send budget is our problem, not the peer's.
        if (!IsRunning || message.Length > connection.Options.MaxSendBufferedBytes) return false;
        var status = connection.GetStatus();
        _switch.StopPeerInBackground(this, new DisconnectReason(DisconnectKind.SlowPeer, true,
            $"the peer does not read its replies on channel 0x{channelId:x2} ({status.BufferedSendBytes} bytes queued to it, " +
            $"its send budget is {connection.Options.MaxSendBufferedBytes})"));
        return false;
    }

    public object? Get(string key) => _data.TryGetValue(key, out var v) ? v : null;

    public void Set(string key, object? value)
    {
        if (value is null) _data.TryRemove(key, out _);
        else _data[key] = value;
    }

    public MConnectionStatus GetStatus() => _mconn?.GetStatus() ?? throw new InvalidOperationException("peer not started");

    /// <summary>Receive loop: a message from this peer was dropped (the next heartbeat publishes the totals).</summary>
    public void NoteDrop() => Volatile.Write(ref _dropsPending, 1);

    /// <summary>Heartbeat: the drop counts that grew since the last call, per channel (for drop events).</summary>
    public IEnumerable<(byte ChannelId, long Total, long Bytes)> TakeNewDrops()
    {
        if (_mconn is null || Interlocked.Exchange(ref _dropsPending, 0) == 0) yield break;
        foreach (var channel in _mconn.GetStatus().Channels)
        {
            if (channel.MessagesDropped == _droppedPublished[channel.Id]) continue;
            _droppedPublished[channel.Id] = channel.MessagesDropped;
            yield return (channel.Id, channel.MessagesDropped, channel.BytesDropped);
        }
    }

    /// <summary>The connection's close callback.</summary>
    public void OnConnectionClosed(Exception? error)
    {
        // A local stop already knows its reason; anything else was the remote, the network, or flow control.
        if (State is PeerState.Stopping or PeerState.Stopped) return;
        _switch.StopPeerInBackground(this, DisconnectReason.FromConnectionError(error));
    }

    /// <summary>Moves to Stopping exactly once; the caller that wins performs the stop.</summary>
    public bool TryBeginStop() =>
        Interlocked.CompareExchange(ref _state, (int)PeerState.Stopping, (int)PeerState.Running) == (int)PeerState.Running
        || Interlocked.CompareExchange(ref _state, (int)PeerState.Stopping, (int)PeerState.Created) == (int)PeerState.Created;

    /// <summary>
    /// Closes the connection: when <paramref name="flushDeadline"/> is set, sends what is queued first but aborts once
    /// the deadline passes (a peer that does not read cannot hold a stop up). A local stop drops messages consumers have
    /// not taken yet; after a remote close or failure what arrived before it is still delivered.
    /// </summary>
    public async Task CloseAsync(TimeSpan? flushDeadline, TimeProvider time)
    {
        try
        {
            if (_mconn is not null)
            {
                if (flushDeadline is { } deadline)
                {
                    using var timeout = new CancellationTokenSource(deadline, time);
                    try
                    {
                        await _mconn.FlushStopAsync(timeout.Token).ConfigureAwait(false);
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
