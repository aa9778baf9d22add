using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Internal;
using Switchboard.Wire;

namespace Switchboard.Conn;

/// <summary>
/// One peer connection multiplexed into prioritized channels (CometBFT's <c>MConnection</c>, PROTOCOL.md section 2):
/// messages are fragmented into packets, interleaved across channels by the <c>recentlySent / priority</c> rule,
/// reassembled per channel on the other side, and kept alive with ping/pong.
/// </summary>
/// <remarks>
/// <para>Two I/O loops run per connection, each a stored task awaited before <see cref="Completion"/> completes: the
/// send loop (fragmenting, channel selection, control packets, batching into one pooled output buffer, flow-rate
/// limit) and the receive loop (a <see cref="PipeReader"/> over the transport, decoding, reassembly, limits). The
/// receive loop never waits on application code: a complete message goes into its channel's inbound queue, which is
/// bounded in bytes (<see cref="ChannelDescriptor.RecvQueueBytes"/>, and <see cref="MConnectionOptions.MaxBufferedBytes"/>
/// for the whole connection); when it is full the channel's <see cref="ChannelFullMode"/> applies. Pings and pongs
/// are acted on the moment they are read. Each channel has its own dispatch loop calling
/// <see cref="IMConnectionHandler.OnMessageAsync"/>, so a handler slow on one channel delays only that channel.</para>
/// <para>Timeouts (ping interval, pong timeout, write stall, paused reads) are checked by a heartbeat, one timer per
/// connection here and one per Switch for its peers.</para>
/// <para>Any fatal condition (PROTOCOL.md 1.5 and 2.7) stops all loops, closes the transport and reports the typed
/// error once through <see cref="IMConnectionHandler.OnClosed"/>. The connection owns the transport and disposes it.
/// Send methods keep a reference to the message memory until its last fragment is written: do not modify it after
/// a successful send.</para>
/// <para><see cref="DisposeAsync"/> and <see cref="FlushStopAsync"/> called on a dispatch loop's flow (from
/// <see cref="IMConnectionHandler.OnMessageAsync"/>, or from work it starts that inherits its execution context) return
/// once the I/O loops have stopped and the transport is closed; they cannot wait for the dispatch loops and
/// <see cref="IMConnectionHandler.OnClosed"/>, which wait for the handler itself. Everywhere else they return after
/// <see cref="Completion"/>.</para>
/// </remarks>
public sealed partial class MConnection : IAsyncDisposable
{
    private const int StateCreated = 0, StateRunning = 1, StateDraining = 2, StateClosed = 3;

    /// <summary>"No such moment" for the timestamp fields the heartbeat reads (any real timestamp, 0 included, is valid).</summary>
    private const long NoTimestamp = long.MinValue;

    /// <summary>Set on the dispatch loops' async flow, to recognise re-entrant stops from the handler.</summary>
    private static readonly AsyncLocal<MConnection?> s_dispatching = new();

    private readonly Stream _transport;
    private readonly IMConnectionHandler? _handler;
    private readonly MConnectionHooks? _hooks;
    private readonly MConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IPacketCodec _codec;
    private readonly MConnectionChannelState[] _channels;
    private readonly MConnectionChannelState?[] _byId = new MConnectionChannelState?[256];
    private readonly ChannelDispatcher[] _dispatchers = [];
    private readonly ConnectionBudget _budget;
    /// <summary>The Switch's heartbeat, or our own made at <see cref="Start"/> (a connection never started holds no timer).</summary>
    private ConnectionHeartbeat? _heartbeat;
    private readonly bool _ownsHeartbeat;
    private readonly CancellationTokenSource _cts = new();
    /// <summary>Stops the dispatch loops. Cancelled on a local close only: after a failure, messages that were already
    /// complete are still delivered (CometBFT delivers them synchronously before it sees the error).</summary>
    private readonly CancellationTokenSource _dispatchCts = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Set once the I/O loops stopped and the transport is closed (before dispatch loops and OnClosed end).</summary>
    private readonly TaskCompletionSource _ioStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _stateGate = new();
    private readonly SendRoom _sendRoom;

    private int _state;
    private Exception? _closeError;
    private Task _receiveTask = Task.CompletedTask;
    private Task _sendTask = Task.CompletedTask;
    private PipeReader? _reader;
    private long _startTimestamp;
    private bool _started;
    private int _sendWaiters;

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
        : this(transport, channels, handler ?? throw new ArgumentNullException(nameof(handler)), null, options, logger)
    {
    }

    /// <summary>The Switch's constructor: messages go to the hooks' schedulers, timeouts to its heartbeat.</summary>
    internal MConnection(Stream transport, IReadOnlyList<ChannelDescriptor> channels, MConnectionHooks hooks,
        MConnectionOptions? options, ILogger? logger)
        : this(transport, channels, null, hooks ?? throw new ArgumentNullException(nameof(hooks)), options, logger)
    {
    }

    private MConnection(Stream transport, IReadOnlyList<ChannelDescriptor> channels, IMConnectionHandler? handler,
        MConnectionHooks? hooks, MConnectionOptions? options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(channels);
        _options = options ?? MConnectionOptions.Default;
        _options.Validate();
        if (channels.Count == 0)
            throw new ArgumentException("an MConnection needs at least one channel", nameof(channels));
        foreach (var descriptor in channels)
        {
            if (descriptor is null) throw new ArgumentException("null channel descriptor", nameof(channels));
            descriptor.Validate();
            if (descriptor.RecvMessageCapacity > _options.MaxBufferedBytes)
                throw new ArgumentException($"channel 0x{descriptor.Id:x2}: RecvMessageCapacity ({descriptor.RecvMessageCapacity}) " +
                    $"is above MaxBufferedBytes ({_options.MaxBufferedBytes}): its largest message could never be received", nameof(channels));
        }
        _handler = handler;
        _hooks = hooks;
        _budget = new ConnectionBudget(_options.MaxBufferedBytes, _options.MaxSendBufferedBytes, _options.ReservedBufferBytes, hooks?.SharedPool);
        _budget.Released = OnBudgetReleased;
        _channels = new MConnectionChannelState[channels.Count];
        if (hooks is null) _dispatchers = new ChannelDispatcher[channels.Count];
        for (var i = 0; i < channels.Count; i++)
        {
            var descriptor = channels[i];
            if (_byId[descriptor.Id] is not null)
                throw new ArgumentException($"channel 0x{descriptor.Id:x2} is registered twice", nameof(channels));
            var state = new MConnectionChannelState(descriptor, _budget);
            IInboundScheduler scheduler;
            if (hooks is null) scheduler = _dispatchers[i] = new ChannelDispatcher(this, descriptor.Id);
            else scheduler = hooks.SchedulerFor(descriptor.Id);
            state.Lane = new InboundLane(descriptor, _budget, scheduler) { Owner = hooks?.LaneOwner };
            _byId[descriptor.Id] = _channels[i] = state;
        }
        _transport = transport;
        _logger = logger ?? NullLogger.Instance;
        _time = _options.TimeProvider;
        _sendRoom = new SendRoom(_time);
        _codec = PacketCodec.Create(_options.Framing, _options.MaxPacketMsgPayloadSize);
        _ownsHeartbeat = hooks?.Heartbeat is null;
        _heartbeat = hooks?.Heartbeat;
    }

    /// <summary>True between <see cref="Start"/> and the beginning of a stop or failure.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == StateRunning;

    /// <summary>Completes (never faults) once every loop has stopped, the transport is closed and
    /// <see cref="IMConnectionHandler.OnClosed"/> has returned.</summary>
    public Task Completion => _completion.Task;

    /// <summary>The options in use.</summary>
    public MConnectionOptions Options => _options;

    private bool IsClosed => Volatile.Read(ref _state) == StateClosed;

    /// <summary>The byte budget (tests).</summary>
    internal ConnectionBudget Budget => _budget;

    /// <summary>Starts the send and receive loops (and the dispatch loops of a standalone connection) and registers
    /// with the heartbeat.</summary>
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
        _lastPingTimestamp = _lastDecayTimestamp = _startTimestamp;
        Volatile.Write(ref _started, true);
        // 64 KiB reads: a whole batch of the peer's packets per pipe read instead of CometBFT's 1 KiB bufio reads.
        // Zero-byte reads: the pipe waits for data before renting a segment, so an idle peer holds no read buffer.
        _reader = PipeReader.Create(_transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4 * 1024,
            leaveOpen: true, useZeroByteReads: true));
        CreateTimers();
        _heartbeat ??= new ConnectionHeartbeat(_time, _options.HeartbeatInterval);
        _heartbeat.Register(this);
        using (ExecutionContext.SuppressFlow())
        {
            _receiveTask = Task.Run(ReceiveLoopAsync);
            _sendTask = Task.Run(SendLoopAsync);
            foreach (var dispatcher in _dispatchers) dispatcher.Start(_handler!, _dispatchCts.Token);
        }
        _ = FinishAsync();
        Log.Started(_logger, _channels.Length, _options.Framing);
    }

    /// <summary>
    /// Queues <paramref name="message"/> on a channel without waiting. False when the connection is not running,
    /// the channel is not registered here, its send queue is full (<see cref="ChannelDescriptor.SendQueueCapacity"/>
    /// messages) or the connection's send budget (<see cref="MConnectionOptions.MaxSendBufferedBytes"/>) has no room.
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
        if (!channel.TryEnqueueSend(message)) return false;
        WakeSendLoop(message.Length);
        return true;
    }

    /// <summary>
    /// A reply (<c>Envelope.Reply</c>): like <see cref="TrySend"/> but bounded only by the send budget in bytes, not by
    /// the channel's message count — a peer that pipelines requests faster than the send loop wakes is not slow.
    /// </summary>
    internal bool TrySendReply(byte channelId, ReadOnlyMemory<byte> message)
    {
        if (Volatile.Read(ref _state) != StateRunning) return false;
        var channel = _byId[channelId];
        if (channel is null || !channel.TryEnqueueSend(message, ignoreCount: true)) return false;
        WakeSendLoop(message.Length);
        return true;
    }

    /// <summary>
    /// Queues <paramref name="message"/>, waiting up to <see cref="MConnectionOptions.SendTimeout"/> for room.
    /// True when queued (not yet sent: there is no acknowledgement); false when the connection is not running,
    /// the channel is unknown, the timeout passed or the connection closed while waiting.
    /// </summary>
    /// <remarks>Waiting on one peer holds up whatever awaits it: a loop that serves several peers should use
    /// <see cref="TrySend"/> (or the Switch's <c>Envelope.Reply</c>) instead.</remarks>
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
        if (channel.TryEnqueueSend(message))
        {
            WakeSendLoop(message.Length);
            return new ValueTask<bool>(true);
        }
        if (message.Length > _options.MaxSendBufferedBytes) return new ValueTask<bool>(false); // can never fit
        return SendSlowAsync(channel, message, cancellationToken);
    }

    // Pooled, with a pooled waiter: a sender held up by a slow link comes here for every message.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendSlowAsync(MConnectionChannelState channel, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // SendTimeout counts from here.
        var waiter = _sendRoom.Rent(_options.SendTimeout, cancellationToken);
        Interlocked.Increment(ref _sendWaiters);
        try
        {
            while (true)
            {
                // Join the waiters before re-checking, so room made between the check and the wait is not missed.
                var room = waiter.WaitAsync();
                if (Volatile.Read(ref _state) != StateRunning) return false;
                if (channel.TryEnqueueSend(message))
                {
                    WakeSendLoop(message.Length);
                    return true;
                }
                await room.ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (waiter.TimedOut) return false; // SendTimeout elapsed
            }
        }
        finally
        {
            Interlocked.Decrement(ref _sendWaiters);
            _sendRoom.Return(waiter);
        }
    }

    /// <summary>
    /// True when the connection runs, the channel is registered and its send queue has room (so a
    /// <see cref="TrySend"/> of a small message now would succeed unless another caller fills it first). CometBFT's
    /// CanSend compares with the default capacity 1 instead of the channel's; this uses the channel's own capacity.
    /// </summary>
    public bool CanSend(byte channelId)
    {
        if (Volatile.Read(ref _state) != StateRunning) return false;
        var channel = _byId[channelId];
        return channel is not null && channel.SendQueueCount < channel.Descriptor.SendQueueCapacity && _budget.Send < _budget.MaxSend;
    }

    /// <summary>A snapshot of the counters.</summary>
    public MConnectionStatus GetStatus()
    {
        var channels = new ChannelStatus[_channels.Length];
        for (var i = 0; i < channels.Length; i++) channels[i] = _channels[i].GetStatus();
        var started = Volatile.Read(ref _started);
        return new MConnectionStatus(
            started ? _time.GetElapsedTime(_startTimestamp) : TimeSpan.Zero,
            Volatile.Read(ref _bytesSent),
            Volatile.Read(ref _bytesReceived),
            Volatile.Read(ref _packetsSent),
            Volatile.Read(ref _packetsReceived),
            channels)
        {
            BufferedInboundBytes = _budget.Inbound,
            BufferedSendBytes = _budget.Send,
            BufferedBytes = _budget.Used,
            PeakBufferedBytes = _budget.Peak,
            ReadPaused = Volatile.Read(ref _pausedSince) != NoTimestamp,
            ReadPauses = Volatile.Read(ref _readPauses),
        };
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
            // Closed queues keep what is queued sendable but refuse new messages.
            foreach (var channel in _channels) channel.CloseSend();
            _sendSignal.Set();
        }
        using var registration = cancellationToken.Register(static s => ((MConnection)s!).Abort(), this);
        await (s_dispatching.Value == this ? _ioStopped.Task : _completion.Task).ConfigureAwait(false);
    }

    /// <summary>Closes at once: queued data is dropped, the transport is closed, the handler is told (error null).</summary>
    public async ValueTask DisposeAsync()
    {
        Abort();
        // On a dispatch loop's flow (the handler, or work it started) the loop cannot end while we wait for it: wait
        // for the I/O loops and the transport instead.
        await (s_dispatching.Value == this ? _ioStopped.Task : _completion.Task).ConfigureAwait(false);
    }

    /// <summary>Local immediate close: also drops messages still waiting for consumers.</summary>
    internal void Abort()
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
        if (error is not null) LogFailure(error);
        foreach (var channel in _channels) channel.CloseSend();
        _cts.Cancel();
        if (error is null)
        {
            // A local close drops what consumers have not taken yet (and returns its bytes at once).
            _dispatchCts.Cancel();
            foreach (var channel in _channels) channel.Lane.Clear();
        }
        _sendSignal.Set();
        _recvSpace.Set();
        _sendRoom.Pulse();
        if (previous == StateCreated) _ = FinishAsync();
    }

    private void LogFailure(Exception error)
    {
        // Expected ends (the peer hung up or reset, a typed protocol or flow-control reason) are one line; anything
        // else (a bug wrapped by a loop) carries its stack trace.
        var expected = error is P2PException
            || error is IOException { InnerException: null or IOException or System.Net.Sockets.SocketException or ObjectDisposedException };
        if (expected) Log.Failed(_logger, error.GetType().Name, error.Message);
        else Log.FailedUnexpectedly(_logger, error.GetType().Name, error.Message, error);
    }

    private async Task FinishAsync()
    {
        // The loops catch everything themselves; WhenAll cannot fault.
        await Task.WhenAll(_receiveTask, _sendTask).ConfigureAwait(false);
        _heartbeat?.Unregister(this);
        if (_ownsHeartbeat) _heartbeat?.Dispose();
        DisposeTimers();
        _sendRoom.Close();
        foreach (var channel in _channels) channel.ClearSend();
        // A message the receive loop admitted while a local close was clearing the lanes is dropped too.
        if (_closeError is null)
            foreach (var channel in _channels) channel.Lane.Clear();
        _budget.Detach();
        if (_reader is not null) await _reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.TransportDisposeFailed(_logger, ex);
        }
        _ioStopped.TrySetResult();
        // Dispatch loops deliver what was complete before a failure, then stop (a local close cancelled them).
        foreach (var dispatcher in _dispatchers) dispatcher.InputEnded();
        await Task.WhenAll(_dispatchers.Select(d => d.Completion)).ConfigureAwait(false);
        Log.Closed(_logger, _closeError?.GetType().Name ?? "local close");
        try
        {
            if (_handler is not null) _handler.OnClosed(_closeError);
            else _hooks!.OnClosed(_closeError);
        }
        catch (Exception ex)
        {
            Log.OnClosedThrew(_logger, ex);
        }
        _completion.TrySetResult();
    }

    /// <summary>Bytes came back to the budget: the paused reader may go on, waiting senders may retry.</summary>
    private void OnBudgetReleased()
    {
        if (Volatile.Read(ref _pausedSince) != NoTimestamp) _recvSpace.Set();
        if (Volatile.Read(ref _sendWaiters) != 0) _sendRoom.Pulse();
    }

    /// <summary>A send-queue slot was freed.</summary>
    private void OnSendSlotFreed()
    {
        if (Volatile.Read(ref _sendWaiters) != 0) _sendRoom.Pulse();
    }

    /// <summary>Standalone delivery: one loop per channel calls the handler for that channel's messages in order.</summary>
    private sealed class ChannelDispatcher(MConnection owner, byte channelId) : IInboundScheduler
    {
        private readonly MConnectionSignal _signal = new();
        private volatile bool _inputEnded;

        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Schedule(InboundLane lane) => _signal.Set();

        public void Start(IMConnectionHandler handler, CancellationToken token) =>
            Completion = Task.Run(() => RunAsync(handler, token));

        /// <summary>No more messages will arrive: the loop ends once the lane is empty.</summary>
        public void InputEnded()
        {
            _inputEnded = true;
            _signal.Set();
        }

        private async Task RunAsync(IMConnectionHandler handler, CancellationToken token)
        {
            s_dispatching.Value = owner;
            var lane = owner._byId[channelId]!.Lane;
            try
            {
                while (true)
                {
                    while (lane.TryDequeue(out var message, out _, out var pooled))
                    {
                        try
                        {
                            if (token.IsCancellationRequested) return;
                            await handler.OnMessageAsync(channelId, message, token).ConfigureAwait(false);
                        }
                        finally
                        {
                            // ChannelDescriptor.PooledDelivery: the handler is done with the message.
                            if (pooled) InboundLane.ReturnPooled(message);
                        }
                    }
                    if (_inputEnded && lane.Count == 0) return;
                    if (token.IsCancellationRequested) return;
                    await _signal.WaitAsync().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                Log.HandlerThrew(owner._logger, ex);
                owner.Close(new P2PException($"message handler failed: {ex.Message}", ex));
                owner._dispatchCts.Cancel();
                lane.Clear();
            }
        }
    }
}

/// <summary>What a Switch gives its peers' connections instead of an <see cref="IMConnectionHandler"/>.</summary>
internal sealed record MConnectionHooks(
    Func<byte, IInboundScheduler> SchedulerFor,
    Action<Exception?> OnClosed,
    ConnectionHeartbeat? Heartbeat,
    SharedBufferPool? SharedPool,
    object? LaneOwner,
    Action<byte, long>? OnDropped);
