namespace Switchboard.Internal;

/// <summary>
/// Wakes every current waiter at once (a manual-reset event that resets itself): a waiter takes <see cref="Task"/>,
/// re-checks its condition, then awaits. <see cref="Pulse"/> costs nothing while nobody waits.
/// </summary>
internal sealed class AsyncPulse
{
    private TaskCompletionSource? _waiters;

    public Task Task
    {
        get
        {
            var current = Volatile.Read(ref _waiters);
            if (current is not null) return current.Task;
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return (Interlocked.CompareExchange(ref _waiters, created, null) ?? created).Task;
        }
    }

    public void Pulse()
    {
        if (Volatile.Read(ref _waiters) is null) return;
        Interlocked.Exchange(ref _waiters, null)?.TrySetResult();
    }
}
