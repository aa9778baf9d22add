namespace Switchboard.Conn;

/// <summary>
/// Byte-rate limiter in 100 ms slices (the observable behaviour of CometBFT's libs/flowrate, PROTOCOL.md 2.6):
/// each slice has a budget of round(rate × 0.1 s) bytes; once it is used up the caller waits for the next slice.
/// Unlike flowrate, bytes written past the budget (a whole packet or batch is never split) are carried into the
/// following slices as debt, so the long-run rate is the configured one instead of "budget + one packet per slice";
/// unused budget is not saved up beyond the current slice, so there is no burst after idling.
/// Not thread-safe: each loop owns its own instance.
/// </summary>
internal sealed class FlowRateLimiter
{
    /// <summary>100 ms: flowrate's sample period (5 × 20 ms clock ticks).</summary>
    public static readonly TimeSpan SliceLength = TimeSpan.FromMilliseconds(100);

    private readonly TimeProvider _time;
    private readonly long _sliceTicks;
    private long _sliceStart;
    private long _used;

    public FlowRateLimiter(long bytesPerSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        _time = time;
        Budget = Math.Max(1, (long)Math.Round(bytesPerSecond * SliceLength.TotalSeconds));
        _sliceTicks = Math.Max(1, (long)(time.TimestampFrequency * SliceLength.TotalSeconds));
        _sliceStart = time.GetTimestamp();
    }

    /// <summary>Bytes allowed per slice.</summary>
    public long Budget { get; }

    /// <summary>Counts <paramref name="bytes"/> against the current slice.</summary>
    public void Record(long bytes)
    {
        Roll(_time.GetTimestamp());
        _used += bytes;
    }

    /// <summary>Zero when sending is allowed now, else how long to wait until it is.</summary>
    public TimeSpan GetDelay()
    {
        var now = _time.GetTimestamp();
        Roll(now);
        if (_used < Budget) return TimeSpan.Zero;
        // Each later slice repays one budget of debt: wait until the debt is below one budget.
        var slices = _used / Budget;
        var resumeAt = _sliceStart + slices * _sliceTicks;
        return _time.GetElapsedTime(now, resumeAt);
    }

    private void Roll(long now)
    {
        var elapsed = now - _sliceStart;
        if (elapsed < _sliceTicks) return;
        var slices = elapsed / _sliceTicks;
        _sliceStart += slices * _sliceTicks;
        _used = Math.Max(0, _used - slices * Budget);
    }
}
