namespace Switchboard.Conn;

/// <summary>
/// One timer that drives every connection's timeouts (Kestrel's <c>Heartbeat</c>): pings due, pong timeouts, write
/// stalls, paused-read limits and stats decay are checked from one tick instead of several timers per connection.
/// A Switch owns one for all its peers; a standalone <see cref="MConnection"/> makes its own.
/// </summary>
internal sealed class ConnectionHeartbeat : IDisposable
{
    private readonly object _gate = new();
    private readonly List<MConnection> _connections = [];
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private MConnection[] _snapshot = [];
    private int _ticking;

    public ConnectionHeartbeat(TimeProvider time, TimeSpan interval)
    {
        _time = time;
        Interval = interval;
        _timer = time.CreateTimer(static s => ((ConnectionHeartbeat)s!).Tick(), this, interval, interval);
    }

    public TimeSpan Interval { get; }

    /// <summary>Extra work per tick (the Switch publishes drop events here).</summary>
    public Action? OnTick { get; set; }

    /// <summary>Told when <see cref="OnTick"/> threw.</summary>
    public Action<Exception>? TickFailed { get; set; }

    public void Register(MConnection connection)
    {
        lock (_gate)
        {
            _connections.Add(connection);
            _snapshot = [.. _connections];
        }
    }

    public void Unregister(MConnection connection)
    {
        lock (_gate)
        {
            if (_connections.Remove(connection)) _snapshot = [.. _connections];
        }
    }

    /// <summary>Runs one tick now (tests).</summary>
    internal void Tick()
    {
        // A tick that overruns the next one is not run twice at once (a real timer may fire concurrently).
        if (Interlocked.Exchange(ref _ticking, 1) != 0) return;
        try
        {
            var now = _time.GetTimestamp();
            // One connection's failure (a throwing cancellation callback, say) must neither skip the others nor escape
            // into the timer thread, which would end the process.
            foreach (var connection in Volatile.Read(ref _snapshot))
            {
                try
                {
                    connection.OnHeartbeat(now);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    connection.OnHeartbeatFailed(ex);
                }
            }
            try
            {
                OnTick?.Invoke();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                TickFailed?.Invoke(ex);
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
