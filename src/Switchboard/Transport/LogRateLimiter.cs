namespace Switchboard.Transport;

/// <summary>
/// Lets at most <c>burst</c> log lines through per <c>period</c> and counts the rest, so a flood of refused
/// connections (a port scanner, a misconfigured peer redialing in a loop) costs a bounded number of lines.
/// The first line after a period in which lines were suppressed reports how many were.
/// </summary>
/// <remarks>Thread-safe. Windows are fixed (not sliding): cheap, and the bound is still burst lines per period.</remarks>
internal sealed class LogRateLimiter(int burst, TimeSpan period, TimeProvider timeProvider)
{
    private readonly object _gate = new();
    private long _windowStart = long.MinValue;
    private int _used;
    private int _suppressed;

    /// <summary>
    /// True when a line may be written now; <paramref name="suppressedBefore"/> is then the number of lines dropped
    /// since the last one written (0 when none were).
    /// </summary>
    public bool TryAcquire(out int suppressedBefore)
    {
        lock (_gate)
        {
            var now = timeProvider.GetTimestamp();
            if (_windowStart == long.MinValue || timeProvider.GetElapsedTime(_windowStart, now) >= period)
            {
                _windowStart = now;
                _used = 0;
            }
            if (_used < burst)
            {
                _used++;
                suppressedBefore = _suppressed;
                _suppressed = 0;
                return true;
            }
            _suppressed++;
            suppressedBefore = 0;
            return false;
        }
    }
}
