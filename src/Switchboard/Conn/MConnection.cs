using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Wire;

namespace Switchboard.Conn;

/// <summary>
/// One peer connection multiplexed into prioritized channels (CometBFT's <c>MConnection</c>, PROTOCOL.md section 2):
/// messages are fragmented into packets, interleaved across channels by the <c>recentlySent / priority</c> rule,
/// reassembled per channel on the other side, and kept alive with ping/pong.
/// </summary>
/// <remarks>
/// <para>Three loops run per connection, each a stored task awaited before <see cref="Completion"/> completes:
/// the send loop (fragmenting, channel selection, control packets, batching into one pooled output buffer, flow-rate
/// limit), the receive loop (a <see cref="PipeReader"/> over the transport, decoding, reassembly, limits) and the
/// dispatch loop that calls <see cref="IMConnectionHandler.OnMessageAsync"/> — so handler code never runs on an I/O
/// loop and a slow handler cannot delay pongs.</para>
/// <para>Any fatal condition (PROTOCOL.md 1.5 and 2.7) stops all loops, closes the transport and reports the typed
/// error once through <see cref="IMConnectionHandler.OnClosed"/>. The connection owns the transport and disposes it.
/// Send methods keep a reference to the message memory until its last fragment is written: do not modify it after
/// a successful send.</para>
/// <para>Do not await <see cref="DisposeAsync"/> or <see cref="FlushStopAsync"/> on the dispatch path of the same
/// connection expecting the loops to have stopped: called from within <see cref="IMConnectionHandler.OnMessageAsync"/>
/// they start the shutdown and return at once (waiting would deadlock on the handler itself).</para>
/// </remarks>
public sealed partial class MConnection : IAsyncDisposable
{
    private const int StateCreated = 0, StateRunning = 1, StateDraining = 2, StateClosed = 3;

    /// <summary>Set on the dispatch loop's async flow, to recognise re-entrant stops from the handler.</summary>
    private static readonly AsyncLocal<MConnection?> s_dispatching = new();

    private readonly Stream _transport;
    private readonly IMConnectionHandler _handler;
    private readonly MConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IPacketCodec _codec;
    private readonly MConnectionChannelState[] _channels;
    private readonly MConnectionChannelState?[] _byId = new MConnectionChannelState?[256];
    private readonly Channel<InboundMessage> _inbound;
    private readonly CancellationTokenSource _cts = new();
    /// <summary>Stops the dispatch loop. Cancelled on a local close only: after a failure, messages that were already
    /// complete are still delivered (CometBFT delivers them synchronously before it sees the error).</summary>
    private readonly CancellationTokenSource _dispatchCts = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _stateGate = new();

    private int _state;
    private Exception? _closeError;
    private Task _receiveTask = Task.CompletedTask;
    private Task _sendTask = Task.CompletedTask;
    private Task _dispatchTask = Task.CompletedTask;
    private PipeReader? _reader;
    private long _startTimestamp;

    private long _bytesSent;
    private long _bytesReceived;
    private long _packetsSent;
    private long _packetsReceived;

    /// <summary>Creates a connection over an established (usually secret) transport; call <see cref="Start"/> next.</summary>
    /// <param name="transport">The byte stream; the connection owns and disposes it.</param>
    /// <param name="channels">Channels in registration order (ties of the selection rule go to the earlier one).</param>
    /// <param name="handler">Receives messages and the close notification.</param>
    /// <param name="options">Settings; <see cref="MConnectionOptions.Default"/> when null.</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <exception cref="ArgumentException">Duplicate channel ids, no channels, or invalid descriptors/options.</exception>
    public MConnection(Stream transport, IReadOnlyList<ChannelDescriptor> channels, IMConnectionHandler handler,
        MConnectionOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(handler);
        _options = options ?? MConnectionOptions.Default;
        _options.Validate();
        if (channels.Count == 0)
            throw new ArgumentException("an MConnection needs at least one channel", nameof(channels));
        _channels = new MConnectionChannelState[channels.Count];
        for (var i = 0; i < channels.Count; i++)
        {
            var descriptor = channels[i] ?? throw new ArgumentException("null channel descriptor", nameof(channels));
            descriptor.Validate();
            if (_byId[descriptor.Id] is not null)
                throw new ArgumentException($"channel 0x{descriptor.Id:x2} is registered twice", nameof(channels));
            _byId[descriptor.Id] = _channels[i] = new MConnectionChannelState(descriptor);
        }
        _transport = transport;
        _handler = handler;
        _logger = logger ?? NullLogger.Instance;
        _time = _options.TimeProvider;
        _codec = PacketCodec.Create(_options.Framing, _options.MaxPacketMsgPayloadSize);
        _inbound = Channel.CreateBounded<InboundMessage>(new BoundedChannelOptions(_options.InboundQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>True between <see cref="Start"/> and the beginning of a stop or failure.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == StateRunning;

    /// <summary>Completes (never faults) once every loop has stopped, the transport is closed and
    /// <see cref="IMConnectionHandler.OnClosed"/> has returned.</summary>
    public Task Completion => _completion.Task;

    /// <summary>The options in use.</summary>
    public MConnectionOptions Options => _options;

    private bool IsClosed => Volatile.Read(ref _state) == StateClosed;

    /// <summary>Starts the send, receive and dispatch loops and the ping and stats timers.</summary>
    /// <exception cref="InvalidOperationException">Already started or closed.</exception>
    public void Start()
    {
        lock (_stateGate)
        {
            if (_state != StateCreated)
                throw new InvalidOperationException("the connection was already started or closed");
            _state = StateRunning;
        }
        _startTimestamp = _time.GetTimestamp();
        // 64 KiB reads: a whole batch of the peer's packets per pipe read instead of CometBFT's 1 KiB bufio reads.
        _reader = PipeReader.Create(_transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        CreateTimers();
        _receiveTask = Task.Run(ReceiveLoopAsync);
        _sendTask = Task.Run(SendLoopAsync);
        _dispatchTask = Task.Run(DispatchLoopAsync);
        _ = FinishAsync();
        Log.Started(_logger, _channels.Length, _options.Framing);
    }

    /// <summary>
    /// Queues <paramref name="message"/> on a channel without waiting. False when the connection is not running,
    /// the channel is not registered here, or its send queue is full.
    /// </summary>
    public bool TrySend(byte channelId, ReadOnlyMemory<byte> message)
    {
        if (Volatile.Read(ref _state) != StateRunning) return false;
        var channel = _byId[channelId];
        if (channel is null)
        {
            Log.SendOnUnknownChannel(_logger, channelId);
            return false;
        }
        if (!channel.Queue.Writer.TryWrite(message)) return false;
        _sendSignal.Set();
        return true;
    }

    /// <summary>
    /// Queues <paramref name="message"/>, waiting up to <see cref="MConnectionOptions.SendTimeout"/> for room.
    /// True when queued (not yet sent: there is no acknowledgement); false when the connection is not running,
    /// the channel is unknown, the timeout passed or the connection closed while waiting.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<bool> SendAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _state) != StateRunning) return new ValueTask<bool>(false);
        var channel = _byId[channelId];
        if (channel is null)
        {
            Log.SendOnUnknownChannel(_logger, channelId);
            return new ValueTask<bool>(false);
        }
        if (channel.Queue.Writer.TryWrite(message))
        {
            _sendSignal.Set();
            return new ValueTask<bool>(true);
        }
        return SendSlowAsync(channel, message, cancellationToken);
    }

    private async ValueTask<bool> SendSlowAsync(MConnectionChannelState channel, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var timeout = new CancellationTokenSource(_options.SendTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            var writer = channel.Queue.Writer;
            while (await writer.WaitToWriteAsync(linked.Token).ConfigureAwait(false))
            {
                if (Volatile.Read(ref _state) != StateRunning) return false;
                if (writer.TryWrite(message))
                {
                    _sendSignal.Set();
                    return true;
                }
            }
            return false; // queue completed: the connection is stopping
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // SendTimeout elapsed
        }
    }

    /// <summary>
    /// True when the connection runs, the channel is registered and its send queue has room (so a
    /// <see cref="TrySend"/> now would succeed unless another caller fills it first). CometBFT's CanSend compares
    /// with the default capacity 1 instead of the channel's; this uses the channel's own capacity.
    /// </summary>
    public bool CanSend(byte channelId)
    {
        if (Volatile.Read(ref _state) != StateRunning) return false;
        var channel = _byId[channelId];
        return channel is not null && channel.Queue.Reader.Count < channel.Descriptor.SendQueueCapacity;
    }

    /// <summary>A snapshot of the counters.</summary>
    public MConnectionStatus GetStatus()
    {
        var channels = new ChannelStatus[_channels.Length];
        for (var i = 0; i < channels.Length; i++) channels[i] = _channels[i].GetStatus();
        var started = Volatile.Read(ref _state) != StateCreated && _startTimestamp != 0;
        return new MConnectionStatus(
            started ? _time.GetElapsedTime(_startTimestamp) : TimeSpan.Zero,
            Volatile.Read(ref _bytesSent),
            Volatile.Read(ref _bytesReceived),
            Volatile.Read(ref _packetsSent),
            Volatile.Read(ref _packetsReceived),
            channels);
    }

    /// <summary>
    /// Graceful stop (CometBFT's FlushStop, used e.g. by seed nodes after answering): stops accepting messages,
    /// sends everything already queued (still rate limited), flushes, then closes. Completes with
    /// <see cref="Completion"/>. If <paramref name="cancellationToken"/> fires first, the connection is closed at once.
    /// </summary>
    public async Task FlushStopAsync(CancellationToken cancellationToken = default)
    {
        bool notStarted;
        lock (_stateGate)
        {
            notStarted = _state == StateCreated;
            if (_state == StateRunning) _state = StateDraining;
        }
        if (notStarted)
        {
            Close(null);
        }
        else
        {
            // Completing the queues keeps what is queued readable but refuses new messages.
            foreach (var channel in _channels) channel.Queue.Writer.TryComplete();
            _sendSignal.Set();
        }
        if (s_dispatching.Value == this) return;
        using var registration = cancellationToken.Register(static s => ((MConnection)s!).Abort(), this);
        await _completion.Task.ConfigureAwait(false);
    }

    /// <summary>Closes at once: queued data is dropped, the transport is closed, the handler is told (error null).</summary>
    public async ValueTask DisposeAsync()
    {
        Abort();
        if (s_dispatching.Value == this) return;
        await _completion.Task.ConfigureAwait(false);
    }

    /// <summary>Local immediate close: also drops messages still waiting for the handler.</summary>
    private void Abort()
    {
        Close(null);
        _dispatchCts.Cancel();
    }

    /// <summary>
    /// Starts shutting down with <paramref name="error"/> as the reason (null = local close). Only the first call
    /// counts; the reason is reported once, after the loops stopped.
    /// </summary>
    private void Close(Exception? error)
    {
        int previous;
        lock (_stateGate)
        {
            previous = _state;
            if (previous == StateClosed) return;
            _state = StateClosed;
            _closeError = error;
        }
        if (error is not null) Log.Failed(_logger, error.GetType().Name, error.Message, error);
        foreach (var channel in _channels) channel.Queue.Writer.TryComplete();
        _inbound.Writer.TryComplete();
        _cts.Cancel();
        if (error is null) _dispatchCts.Cancel();
        _sendSignal.Set();
        if (previous == StateCreated) _ = FinishAsync();
    }

    private async Task FinishAsync()
    {
        // The loops catch everything themselves; WhenAll cannot fault.
        await Task.WhenAll(_receiveTask, _sendTask, _dispatchTask).ConfigureAwait(false);
        DisposeTimers();
        if (_reader is not null) await _reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.TransportDisposeFailed(_logger, ex);
        }
        Log.Closed(_logger, _closeError?.GetType().Name ?? "local close");
        try
        {
            _handler.OnClosed(_closeError);
        }
        catch (Exception ex)
        {
            Log.OnClosedThrew(_logger, ex);
        }
        _completion.TrySetResult();
    }

    private async Task DispatchLoopAsync()
    {
        s_dispatching.Value = this;
        var token = _dispatchCts.Token;
        var reader = _inbound.Reader;
        try
        {
            // No token on the wait: a cancellable wait allocates per call, and Close completes the queue anyway.
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    if (token.IsCancellationRequested) return;
                    await _handler.OnMessageAsync(message.ChannelId, message.Data, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Log.HandlerThrew(_logger, ex);
            Close(new P2PException($"message handler failed: {ex.Message}", ex));
            _dispatchCts.Cancel();
        }
    }

    private readonly record struct InboundMessage(byte ChannelId, byte[] Data);
}
