using System.Threading.Tasks.Sources;

namespace Switchboard.Conn;

/// <summary>
/// An allocation-free auto-reset event for exactly one waiter (the send loop): any thread may <see cref="Set"/>,
/// the loop awaits <see cref="WaitAsync"/>. Several Sets before a wait collapse into one wake-up. Continuations run
/// asynchronously so that a Set from a timer callback or a caller's TrySend never runs the send loop inline.
/// </summary>
internal sealed class MConnectionSignal : IValueTaskSource
{
    private readonly object _gate = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _signaled;
    private bool _waiting;

    public void Set()
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                _signaled = true;
                return;
            }
            _waiting = false;
        }
        _core.SetResult(true);
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
