namespace Switchboard.Conn;

/// <summary>
/// The node-wide part of the inbound byte budget (<see cref="SwitchOptions.SharedBufferBytes"/>): what connections
/// borrow once they hold more than their reserved share. Shared by every connection of one Switch.
/// </summary>
internal sealed class SharedBufferPool(long capacity)
{
    private readonly Lock _gate = new();
    private readonly HashSet<ConnectionBudget> _waiters = [];
    private long _used;

    public long Capacity { get; } = capacity;

    public long Used => Volatile.Read(ref _used);

    public bool TryTake(long bytes, ConnectionBudget waiter)
    {
        lock (_gate)
        {
            if (_used + bytes > Capacity)
            {
                // Told when bytes come back, so a connection paused on the pool resumes.
                _waiters.Add(waiter);
                return false;
            }
            _used += bytes;
            return true;
        }
    }

    public void Give(long bytes)
    {
        ConnectionBudget[]? wake = null;
        lock (_gate)
        {
            _used -= bytes;
            if (_waiters.Count > 0)
            {
                wake = [.. _waiters];
                _waiters.Clear();
            }
        }
        if (wake is null) return;
        foreach (var budget in wake) budget.NotifyReleased();
    }

    public void Forget(ConnectionBudget waiter)
    {
        lock (_gate) _waiters.Remove(waiter);
    }
}

/// <summary>
/// Bytes one connection holds: complete inbound messages waiting for consumers plus the reassembly buffers
/// (<see cref="Inbound"/>, at most <see cref="MConnectionOptions.MaxBufferedBytes"/>), and messages in its send queues
/// (<see cref="Send"/>, at most <see cref="MConnectionOptions.MaxSendBufferedBytes"/>). The two caps are separate so
/// that neither side can starve the other: a reply never fails because inbound traffic took the room, and unread
/// replies never pause reading. Inbound bytes beyond
/// <see cref="MConnectionOptions.ReservedBufferBytes"/> are borrowed from the Switch's <see cref="SharedBufferPool"/>,
/// so a node's worst case is peers × reserve + pool however many peers flood it, while a peer that keeps within its
/// reserve is never refused because others filled the pool. Send bytes are not drawn from the pool: a broadcast
/// message is one array shared by every peer's queue and is the application's memory already.
/// </summary>
internal sealed class ConnectionBudget
{
    private readonly Lock _gate = new();
    private readonly SharedBufferPool? _pool;
    private long _inbound;
    private long _send;
    private long _peak;

    public ConnectionBudget(long max, long maxSend, long reserved, SharedBufferPool? pool)
    {
        Max = max;
        MaxSend = maxSend;
        Reserved = reserved;
        _pool = pool;
    }

    /// <summary>Cap of <see cref="Inbound"/>.</summary>
    public long Max { get; }

    /// <summary>Cap of <see cref="Send"/>.</summary>
    public long MaxSend { get; }

    public long Reserved { get; }

    public long Inbound => Volatile.Read(ref _inbound);

    public long Send => Volatile.Read(ref _send);

    public long Used { get { lock (_gate) return _inbound + _send; } }

    /// <summary>True when the last failed inbound charge failed because the shared pool was full (others hold it), not
    /// because this connection is over its own cap. Receive loop only.</summary>
    public bool PoolWasFull { get; private set; }

    /// <summary>Highest inbound + send total seen.</summary>
    public long Peak => Volatile.Read(ref _peak);

    /// <summary>Called (outside any lock) whenever bytes were returned; the connection wakes its paused reader and
    /// waiting senders.</summary>
    public Action? Released { get; set; }

    /// <summary>Atomically gives back <paramref name="release"/> inbound bytes and takes <paramref name="charge"/>; false
    /// (nothing changed) when the connection's total or the shared pool cannot cover the difference.</summary>
    public bool TryExchangeInbound(long release, long charge)
    {
        long giveToPool = 0;
        lock (_gate)
        {
            var next = _inbound - release + charge;
            PoolWasFull = false;
            if (charge > release && next > Max) return false;
            var borrowed = Math.Max(0, _inbound - Reserved);
            var nextBorrowed = Math.Max(0, next - Reserved);
            if (_pool is not null)
            {
                if (nextBorrowed > borrowed && !_pool.TryTake(nextBorrowed - borrowed, this))
                {
                    PoolWasFull = true;
                    return false;
                }
                giveToPool = Math.Max(0, borrowed - nextBorrowed);
            }
            _inbound = next;
            if (next + _send > _peak) _peak = next + _send;
        }
        if (giveToPool > 0) _pool!.Give(giveToPool);
        if (release > charge) NotifyReleased();
        return true;
    }

    public void ReleaseInbound(long bytes)
    {
        if (bytes > 0) TryExchangeInbound(bytes, 0);
    }

    public bool TryChargeSend(long bytes)
    {
        lock (_gate)
        {
            if (_send + bytes > MaxSend) return false;
            _send += bytes;
            if (_inbound + _send > _peak) _peak = _inbound + _send;
            return true;
        }
    }

    public void ReleaseSend(long bytes)
    {
        if (bytes <= 0) return;
        lock (_gate) _send -= bytes;
        NotifyReleased();
    }

    public void NotifyReleased() => Released?.Invoke();

    /// <summary>The connection is gone: stop waiting on the pool.</summary>
    public void Detach() => _pool?.Forget(this);
}
