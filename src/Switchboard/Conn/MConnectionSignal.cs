using System.Threading.Tasks.Sources;

namespace Switchboard.Conn;

/// <summary>
/// An allocation-free auto-reset event for exactly one waiter (the send loop): any thread may <see cref="Set"/>,
/// the loop awaits <see cref="WaitAsync"/>. Several Sets before a wait collapse into one wake-up. A <see cref="Set"/>
/// runs the waiter's continuation on the thread pool, so a timer callback or a busy caller never runs the loop;
/// only <see cref="SetInline"/>, which the connection uses for a small message sent to an idle loop, runs it on the
/// calling thread (and the loop bounds what it does there).
/// </summary>
internal sealed class MConnectionSignal : IValueTaskSource
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _signaled;
    private bool _waiting;

    /// <summary>Whether the waiter is parked now (tests).</summary>
    public bool IsWaiting
    {
        get
        {
            lock (_gate) return _waiting;
        }
    }

    public void Set() => Release(inline: false);

    /// <summary>Like <see cref="Set"/>, but a parked waiter resumes on this thread, now, until it next awaits
    /// something that is not complete. False (a plain Set) when the waiter was not parked.</summary>
    public bool SetInline() => Release(inline: true);

    private bool Release(bool inline)
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                _signaled = true;
                return false;
            }
            _waiting = false;
            _core.RunContinuationsAsynchronously = !inline;
        }
        _core.SetResult(true);
        return true;
    }

    /// <summary>Completes when <see cref="Set"/> has been called since the previous wait returned.</summary>
    public ValueTask WaitAsync()
    {
        lock (_gate)
        {
            if (_signaled)
            {
                _signaled = false;
                return ValueTask.CompletedTask;
            }
            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);
}
