namespace Switchboard.Conn;

public sealed partial class MConnection
{
    private ITimer? _flushTimer;
    private ITimer? _rateTimer;
    private int _pongRequested;
    private int _pingDue;
    /// <summary>When our last ping went into the output buffer (0: no ping waits for its pong).</summary>
    private long _pingSentAt = NoTimestamp;
    // Heartbeat only:
    private long _lastPingTimestamp;
    private long _lastDecayTimestamp;

    private void CreateTimers()
    {
        // Scheduling timers (not timeouts): flush coalescing and the send-rate slice. Timeouts are the heartbeat's.
        if (_options.FlushCoalescingDelay > TimeSpan.Zero)
            _flushTimer = _time.CreateTimer(static s => ((MConnection)s!).OnFlushTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_options.SendRate > 0)
            _rateTimer = _time.CreateTimer(static s => ((MConnection)s!).OnRateTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private void DisposeTimers()
    {
        _flushTimer?.Dispose();
        _rateTimer?.Dispose();
    }

    /// <summary>
    /// One heartbeat tick (<see cref="ConnectionHeartbeat"/>), in order of blame: a write stuck for
    /// <see cref="MConnectionOptions.WriteStallTimeout"/> (the peer stopped reading), a read paused by one of our
    /// back-pressure channels for <see cref="MConnectionOptions.MaxReadPause"/> (our fault), a pong later than
    /// <see cref="MConnectionOptions.PongTimeout"/> — not counted while our reads are paused, since the pong may be
    /// waiting unread in our own socket buffer; then a due ping and the stats decay.
    /// </summary>
    internal void OnHeartbeat(long now)
    {
        if (Volatile.Read(ref _state) is StateCreated or StateClosed) return;
        var writeStarted = Volatile.Read(ref _writeStartedAt);
        if (writeStarted != NoTimestamp && _time.GetElapsedTime(writeStarted, now) >= _options.WriteStallTimeout)
        {
            Log.WriteStalled(_logger, _options.WriteStallTimeout.TotalMilliseconds);
            Close(new FlowControlException(FlowControlFault.WriteStalled, null,
                $"a write to the peer made no progress for {_options.WriteStallTimeout.TotalSeconds:0.#} s (the peer does not read)"));
            return;
        }
        var pausedSince = Volatile.Read(ref _pausedSince);
        if (pausedSince != NoTimestamp && _time.GetElapsedTime(pausedSince, now) >= _options.MaxReadPause)
        {
            Close(PauseLimitError(Volatile.Read(ref _pausedChannel)));
            return;
        }
        var pingSent = Volatile.Read(ref _pingSentAt);
        if (pingSent != NoTimestamp && pausedSince == NoTimestamp)
        {
            var since = Math.Max(pingSent, Volatile.Read(ref _resumedAt));
            if (_time.GetElapsedTime(since, now) >= _options.PongTimeout)
            {
                Log.PongTimeout(_logger, _options.PongTimeout.TotalMilliseconds);
                Close(new P2PTimeoutException("pong", _options.PongTimeout,
                    new ProtocolViolationException(ProtocolViolation.PongTimeout, "the peer did not answer our ping")));
                return;
            }
        }
        var signal = false;
        if (_time.GetElapsedTime(_lastPingTimestamp, now) >= _options.PingInterval)
        {
            _lastPingTimestamp = now;
            Volatile.Write(ref _pingDue, 1);
            signal = true;
        }
        if (_time.GetElapsedTime(_lastDecayTimestamp, now) >= _options.StatsDecayPeriod)
        {
            _lastDecayTimestamp = now;
            Volatile.Write(ref _decayDue, 1);
            signal = true;
        }
        if (signal) _sendSignal.Set();
    }

    /// <summary>A pause that reached its limit: our consumer of that channel is too slow (its queue is full), or the
    /// node-wide pool stayed full (our consumers of other peers' messages are too slow). Either way local.</summary>
    private FlowControlException PauseLimitError(int channelId) => Volatile.Read(ref _pausedOnPool)
        ? new(FlowControlFault.LocalConsumerStalled, (byte)channelId,
            $"the node-wide inbound pool stayed full for {_options.MaxReadPause.TotalSeconds:0.#} s while reading from the peer " +
            $"(channel 0x{channelId:x2}) was paused for room; the fault is local (consumers too slow for all peers), not the peer's")
        : new(FlowControlFault.LocalConsumerStalled, (byte)channelId,
            $"the consumer of channel 0x{channelId:x2} took no message for {_options.MaxReadPause.TotalSeconds:0.#} s while reading " +
            "from the peer was paused for it; the fault is local (a slow reactor or agent), not the peer's");

    /// <summary>The heartbeat tick threw for this connection: it is closed with that error (logged once).</summary>
    internal void OnHeartbeatFailed(Exception error)
    {
        try
        {
            Close(new P2PException($"heartbeat failed: {error.Message}", error));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.HandlerThrew(_logger, ex);
        }
    }

    private void OnFlushTimer()
    {
        Volatile.Write(ref _flushDue, 1);
        _sendSignal.Set();
    }

    private void OnRateTimer()
    {
        Volatile.Write(ref _rateTimerArmed, 0);
        _sendSignal.Set();
    }

    /// <summary>Receive loop: a ping asks for one pong; several pings before it is written get one pong
    /// (at most one pending, as CometBFT's buffered pong channel).</summary>
    private void OnPingReceived()
    {
        Volatile.Write(ref _pongRequested, 1);
        _sendSignal.Set();
    }

    /// <summary>Receive loop: a pong ends the wait for it; an unsolicited pong is ignored.</summary>
    private void OnPongReceived() => Volatile.Write(ref _pingSentAt, NoTimestamp);

    /// <summary>Send loop: writes a requested pong and a due ping into the output buffer; true if it wrote any
    /// (they are flushed at once). The pong deadline starts before the ping can reach the transport.</summary>
    private bool WriteControlPackets()
    {
        var wrote = false;
        if (Interlocked.Exchange(ref _pongRequested, 0) != 0)
        {
            _outLength += _codec.WritePong(_out.AsSpan(_outLength));
            Volatile.Write(ref _packetsSent, _packetsSent + 1);
            Log.PongSent(_logger);
            wrote = true;
        }
        if (Interlocked.Exchange(ref _pingDue, 0) != 0)
        {
            // A ping while one is unanswered keeps the first deadline (CometBFT re-arms; the pong timeout is below
            // the ping interval, so that only matters while our reads are paused).
            if (Volatile.Read(ref _pingSentAt) == NoTimestamp) Volatile.Write(ref _pingSentAt, _time.GetTimestamp());
            _outLength += _codec.WritePing(_out.AsSpan(_outLength));
            Volatile.Write(ref _packetsSent, _packetsSent + 1);
            Log.PingSent(_logger);
            wrote = true;
        }
        return wrote;
    }
}
