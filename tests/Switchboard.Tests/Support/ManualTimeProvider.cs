namespace Switchboard.Tests.Support;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock only moves when a test calls <see cref="Advance"/>.
/// Timers due at or before the new time fire synchronously inside <see cref="Advance"/>, in due order,
/// outside the provider's lock (a callback may create, change or dispose timers).
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    // Reads of the clock take no lock: a simulation of 1,000 nodes reads it from every thread-pool thread (address book,
    // PEX, timers), and a shared lock there made them queue behind each other. _ticks only grows, under _gate.
    private readonly object _gate = new();
    private readonly HashSet<ManualTimer> _timers = [];
    private readonly DateTimeOffset _start;
    private long _ticks;
    private long _nextSequence;

    public ManualTimeProvider() : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public ManualTimeProvider(DateTimeOffset start) => _start = start;

    public override DateTimeOffset GetUtcNow() => _start + TimeSpan.FromTicks(Volatile.Read(ref _ticks));

    public override long GetTimestamp() => Volatile.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Number of timers that are armed (have a due time).</summary>
    public int ActiveTimers { get { lock (_gate) return _timers.Count(t => t.Due is not null); } }

    /// <summary>Moves the clock forward and fires every timer that became due, in order.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target;
        lock (_gate) target = _ticks + by.Ticks;
        while (true)
        {
            ManualTimer? next = null;
            lock (_gate)
            {
                // Earliest due first; timers due at the same tick fire in creation order.
                foreach (var t in _timers)
                    if (t.Due is long due && due <= target
                        && (next is null || due < next.Due || (due == next.Due && t.Sequence < next.Sequence)))
                        next = t;
                if (next is null)
                {
                    Volatile.Write(ref _ticks, target);
                    return;
                }
                var dueTicks = next.Due!.Value;
                if (dueTicks > _ticks) Volatile.Write(ref _ticks, dueTicks);
                next.Due = next.Period is long p && p > 0 ? dueTicks + p : null;
            }
            next.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ManualTimer timer;
        lock (_gate)
        {
            timer = new ManualTimer(this, callback, state, _nextSequence++);
            _timers.Add(timer);
        }
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state, long sequence) : ITimer
    {
        internal readonly long Sequence = sequence;
        internal long? Due;
        internal long? Period;

        internal void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (!owner._timers.Contains(this)) return false;
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._ticks + Math.Max(0, dueTime.Ticks);
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period.Ticks;
            }
            return true;
        }

        public void Dispose() { lock (owner._gate) owner._timers.Remove(this); }

        public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
    }
}
