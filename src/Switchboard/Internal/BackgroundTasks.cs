namespace Switchboard.Internal;

/// <summary>
/// Background work that an owner must be able to wait for (a Switch's peer stops and dials, a PEX reactor's dials,
/// a transport's inbound upgrades): every task is tracked until it ends, exceptions are reported instead of lost, and
/// the caller's <see cref="ExecutionContext"/> does not flow into the work — an AsyncLocal set on the caller's path
/// (such as a connection's "inside my dispatch loop" marker) must not make the background work believe it runs there.
/// </summary>
internal sealed class BackgroundTasks(Action<Exception> onFailure)
{
    private readonly HashSet<Task> _tasks = [];
    private bool _closed;

    public int Count { get { lock (_tasks) return _tasks.Count; } }

    /// <summary>Starts <paramref name="work"/> on the thread pool unless <see cref="Close"/> was called;
    /// <paramref name="isExpectedCancellation"/> says which cancellations are a normal shutdown (not reported).</summary>
    public bool Run(Func<Task> work, Func<bool>? isExpectedCancellation = null)
    {
        lock (_tasks)
        {
            if (_closed) return false;
            Task task;
            using (ExecutionContext.SuppressFlow())
                task = Task.Run(() => RunOneAsync(work, isExpectedCancellation));
            _tasks.Add(task);
            task.ContinueWith(static (t, s) =>
            {
                var set = (HashSet<Task>)s!;
                lock (set) set.Remove(t);
            }, _tasks, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return true;
        }
    }

    private async Task RunOneAsync(Func<Task> work, Func<bool>? isExpectedCancellation)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (isExpectedCancellation?.Invoke() ?? true)
        {
            // Shutting down.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Background work must never take its owner (or its stop) down with it.
            onFailure(ex);
        }
    }

    /// <summary>Refuses new work from now on (what runs is still waited for).</summary>
    public void Close()
    {
        lock (_tasks) _closed = true;
    }

    /// <summary>Waits until no tracked work is left (work started meanwhile is waited for too).</summary>
    public async Task WaitAllAsync()
    {
        while (true)
        {
            Task[] pending;
            lock (_tasks) pending = [.. _tasks];
            if (pending.Length == 0) return;
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }
}
