using System.Threading.Tasks.Sources;

namespace Switchboard.Conn;

/// <summary>
/// The senders of one connection waiting for room in its send queues (<c>SendAsync</c> past a full queue or budget):
/// <see cref="Pulse"/> wakes every current waiter at once, each then re-checks and waits again if it must. Waiters are
/// pooled with their timeout timer, so a sender held up by a slow link allocates nothing per message (a
/// TaskCompletionSource per pulse plus a timed and a linked CancellationTokenSource and a Task.WaitAsync per wait,
/// about 700 B, before). The connection pulses only while it has waiting senders.
/// </summary>
internal sealed class SendRoom(TimeProvider time)
{
    /// <summary>Waiters kept for reuse; more concurrent senders than this get a fresh one (and its timer) each time.</summary>
    private const int MaxPooled = 8;

    private readonly Lock _gate = new();
    private readonly List<Waiter> _waiting = [];
    private readonly Stack<Waiter> _free = new();
    private bool _closed;

    /// <summary>A waiter for one <c>SendAsync</c> call; give it back with <see cref="Return"/>.</summary>
    public Waiter Rent(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Waiter? waiter = null;
        lock (_gate)
            _free.TryPop(out waiter);
        waiter ??= new Waiter(this, time);
        waiter.Begin(timeout, cancellationToken);
        return waiter;
    }

    public void Return(Waiter waiter)
    {
        waiter.End();
        lock (_gate)
        {
            if (!_closed && _free.Count < MaxPooled)
            {
                _free.Push(waiter);
                return;
            }
        }
        waiter.Dispose();
    }

    /// <summary>Room was made (or the connection closed): every waiter re-checks.</summary>
    public void Pulse()
    {
        // Always under the lock: a sender joins the waiters under it before re-checking for room, so room made before
        // this lock is seen by its re-check, and room made after wakes it here.
        lock (_gate)
        {
            // SetResult only queues the continuations (they run asynchronously), so waking under the lock is safe.
            foreach (var waiter in _waiting) waiter.WakeLocked();
            _waiting.Clear();
        }
    }

    /// <summary>The connection is finished: pooled waiters release their timers, returned ones are not kept.</summary>
    public void Close()
    {
        Waiter[] free;
        lock (_gate)
        {
            _closed = true;
            free = [.. _free];
            _free.Clear();
        }
        foreach (var waiter in free) waiter.Dispose();
    }

    /// <summary>One waiting sender: woken by a pulse, its timeout or its caller's token, whichever comes first.</summary>
    internal sealed class Waiter : IValueTaskSource
    {
        private readonly SendRoom _room;
        private readonly TimeProvider _time;
        private readonly ITimer _timer;
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private CancellationTokenRegistration _registration;
        private CancellationToken _token;
        private TimeSpan _timeout;
        private long _startedAt;
        // Under the room's lock:
        private bool _active;
        private bool _listed;
        private bool _timedOut;

        public Waiter(SendRoom room, TimeProvider time)
        {
            _room = room;
            _time = time;
            _timer = time.CreateTimer(static s => ((Waiter)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        /// <summary>True once the timeout (counted from <see cref="Rent"/>) has passed.</summary>
        public bool TimedOut
        {
            get { lock (_room._gate) return _timedOut; }
        }

        internal void Begin(TimeSpan timeout, CancellationToken cancellationToken)
        {
            _timeout = timeout;
            _token = cancellationToken;
            _startedAt = _time.GetTimestamp();
            lock (_room._gate)
            {
                _active = true;
                _timedOut = false;
            }
            _timer.Change(timeout, Timeout.InfiniteTimeSpan);
            if (cancellationToken.CanBeCanceled)
                _registration = cancellationToken.UnsafeRegister(static s => ((Waiter)s!).Wake(), this);
        }

        internal void End()
        {
            lock (_room._gate)
            {
                _active = false;
                Unlist();
            }
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            // Waits for a cancellation callback already running, so none reaches the next user of this waiter.
            _registration.Dispose();
            _registration = default;
            _token = default;
        }

        /// <summary>
        /// Joins the waiters before the caller re-checks for room (room made between the check and the await is not
        /// missed); completes at once when the timeout passed or the token was cancelled. A caller that finds room
        /// need not await it (<see cref="Return"/> leaves the waiters).
        /// </summary>
        public ValueTask WaitAsync()
        {
            lock (_room._gate)
            {
                _core.Reset();
                if (_timedOut || _token.IsCancellationRequested)
                    _core.SetResult(true);
                else
                {
                    _listed = true;
                    _room._waiting.Add(this);
                }
                return new ValueTask(this, _core.Version);
            }
        }

        /// <summary>Under the room's lock, from a pulse (which clears the list itself).</summary>
        internal void WakeLocked()
        {
            if (!_listed) return;
            _listed = false;
            _core.SetResult(true);
        }

        private void Unlist()
        {
            if (!_listed) return;
            _listed = false;
            _room._waiting.Remove(this);
        }

        private void Wake()
        {
            lock (_room._gate)
            {
                if (!_listed) return;
                Unlist();
                _core.SetResult(true);
            }
        }

        private void OnTimer()
        {
            lock (_room._gate)
            {
                if (!_active) return;
                // A callback of an earlier use of this (pooled) waiter may arrive late: only the current deadline counts.
                var remaining = _timeout - _time.GetElapsedTime(_startedAt);
                if (remaining > TimeSpan.Zero)
                {
                    _timer.Change(remaining, Timeout.InfiniteTimeSpan);
                    return;
                }
                _timedOut = true;
                if (_listed)
                {
                    Unlist();
                    _core.SetResult(true);
                }
            }
        }

        internal void Dispose() => _timer.Dispose();

        void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token,
            ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);
    }
}
