namespace Switchboard.Tests.Support;

/// <summary>Waits for a condition with a deadline instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Polls <paramref name="condition"/> (backing off from 1 ms to 50 ms) until it holds or the deadline passes.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        var delay = 1;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"condition not met within {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s: {what}");
            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 50);
        }
    }

    /// <summary>Awaits a task with a deadline; fails the test if it does not complete in time.</summary>
    public static async Task<T> WithinAsync<T>(Task<T> task, string what, TimeSpan? timeout = null)
    {
        try { return await task.WaitAsync(timeout ?? DefaultTimeout); }
        catch (TimeoutException) { throw new TimeoutException($"did not complete in time: {what}"); }
    }

    /// <inheritdoc cref="WithinAsync{T}(Task{T}, string, TimeSpan?)"/>
    public static async Task WithinAsync(Task task, string what, TimeSpan? timeout = null)
    {
        try { await task.WaitAsync(timeout ?? DefaultTimeout); }
        catch (TimeoutException) { throw new TimeoutException($"did not complete in time: {what}"); }
    }
}
