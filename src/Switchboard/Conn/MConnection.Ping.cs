namespace Switchboard.Conn;

public sealed partial class MConnection
{
    private ITimer? _pingTimer;
    private ITimer? _pongTimer;
    private ITimer? _decayTimer;
    private ITimer? _flushTimer;
    private ITimer? _rateTimer;
    private int _pongRequested;
    private int _pingDue;

    private void CreateTimers()
    {
        // First ping one interval after start, then every interval (CometBFT's pingTimer).
        _pingTimer = _time.CreateTimer(static s => ((MConnection)s!).OnPingTimer(), this, _options.PingInterval, _options.PingInterval);
        _pongTimer = _time.CreateTimer(static s => ((MConnection)s!).OnPongTimeout(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _decayTimer = _time.CreateTimer(static s => ((MConnection)s!).OnDecayTimer(), this, _options.StatsDecayPeriod, _options.StatsDecayPeriod);
        if (_options.FlushCoalescingDelay > TimeSpan.Zero)
            _flushTimer = _time.CreateTimer(static s => ((MConnection)s!).OnFlushTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_options.SendRate > 0)
            _rateTimer = _time.CreateTimer(static s => ((MConnection)s!).OnRateTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private void DisposeTimers()
    {
        _pingTimer?.Dispose();
        _pongTimer?.Dispose();
        _decayTimer?.Dispose();
        _flushTimer?.Dispose();
        _rateTimer?.Dispose();
    }

    private void OnPingTimer()
    {
        Volatile.Write(ref _pingDue, 1);
        _sendSignal.Set();
    }

    private void OnDecayTimer()
    {
        Volatile.Write(ref _decayDue, 1);
        _sendSignal.Set();
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

    private void OnPongTimeout()
    {
        if (IsClosed) return;
        Log.PongTimeout(_logger, _options.PongTimeout.TotalMilliseconds);
        Close(new P2PTimeoutException("pong", _options.PongTimeout,
            new ProtocolViolationException(ProtocolViolation.PongTimeout, "the peer did not answer our ping")));
    }

    /// <summary>Receive loop: a ping asks for one pong; several pings before it is written get one pong
    /// (at most one pending, as CometBFT's buffered pong channel).</summary>
    private void OnPingReceived()
    {
        Volatile.Write(ref _pongRequested, 1);
        _sendSignal.Set();
    }

    /// <summary>Receive loop: a pong cancels the pong timeout; an unsolicited pong is ignored.</summary>
    private void OnPongReceived() => _pongTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    /// <summary>Send loop: writes a requested pong and a due ping into the output buffer; true if it wrote any
    /// (they are flushed at once). The pong timeout is armed before the ping can reach the transport.</summary>
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
            _pongTimer!.Change(_options.PongTimeout, Timeout.InfiniteTimeSpan);
            _outLength += _codec.WritePing(_out.AsSpan(_outLength));
            Volatile.Write(ref _packetsSent, _packetsSent + 1);
            Log.PingSent(_logger);
            wrote = true;
        }
        return wrote;
    }
}
