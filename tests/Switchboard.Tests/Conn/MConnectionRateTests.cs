using Switchboard.Conn;
using Switchboard.Tests.Support;
using static Switchboard.Tests.Conn.MConnectionKit;

namespace Switchboard.Tests.Conn;

/// <summary>Flow-rate limits (PROTOCOL.md 2.6), measured in bytes per ManualTimeProvider slice — never on the wall clock.</summary>
public class MConnectionRateTests
{
    private const long Rate = 100_000;            // 10,000 bytes per 100 ms slice
    private const int Slices = 30;                // 3 s of simulated time
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void LimiterBudgetsPerSliceAndCarriesTheOvershoot()
    {
        var time = new ManualTimeProvider();
        var limiter = new FlowRateLimiter(Rate, time);
        Assert.Equal(10_000, limiter.Budget);
        Assert.Equal(TimeSpan.Zero, limiter.GetDelay());
        limiter.Record(10_360);
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.GetDelay());
        time.Advance(TimeSpan.FromMilliseconds(40));
        Assert.Equal(TimeSpan.FromMilliseconds(60), limiter.GetDelay());
        time.Advance(TimeSpan.FromMilliseconds(60));
        Assert.Equal(TimeSpan.Zero, limiter.GetDelay());   // 360 bytes of debt left, below one budget
        limiter.Record(19_700);                             // 20,060 used: two more slices to repay
        Assert.Equal(TimeSpan.FromMilliseconds(200), limiter.GetDelay());
        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.Zero, limiter.GetDelay());
        // Idle time is not saved up: after 10 s, one budget still ends the slice.
        time.Advance(TimeSpan.FromSeconds(10));
        limiter.Record(10_000);
        Assert.True(limiter.GetDelay() > TimeSpan.Zero);
    }

    [Fact]
    public async Task SendRateHoldsWithinTenPercent()
    {
        var time = new ManualTimeProvider();
        var channels = new[] { new ChannelDescriptor(1, 1) { SendQueueCapacity = 1000 } };
        var (a, _, b, _) = Pair(channels, new MConnectionOptions { TimeProvider = time, SendRate = Rate },
            new MConnectionOptions { TimeProvider = time });
        await using var _ = a;
        await using var __ = b;
        for (var i = 0; i < 500; i++) Assert.True(a.TrySend(1, Pattern(1000)));   // 500 KB: saturated throughout

        await Eventually.TrueAsync(() => Interlocked.Read(ref a.SendRateWaits) >= 1, "first slice used up");
        var start = a.GetStatus().BytesSent;
        for (var i = 1; i <= Slices; i++)
        {
            time.Advance(Slice);
            var expected = i + 1;
            await Eventually.TrueAsync(() => Interlocked.Read(ref a.SendRateWaits) >= expected, $"slice {i} used up");
        }
        var sent = a.GetStatus().BytesSent - start;
        Assert.InRange(sent, Rate * Slices / 10 * 0.9, Rate * Slices / 10 * 1.1);
        Assert.True(a.GetStatus().Channels[0].SendQueueSize > 0, "the channel must stay saturated");
    }

    [Fact]
    public async Task RecvRateHoldsWithinTenPercent()
    {
        var time = new ManualTimeProvider();
        var channels = new[] { new ChannelDescriptor(1, 1) { SendQueueCapacity = 1000 } };
        var (a, _, b, hb) = Pair(channels, new MConnectionOptions { TimeProvider = time },
            new MConnectionOptions { TimeProvider = time, RecvRate = Rate });
        await using var _ = a;
        await using var __ = b;
        for (var i = 0; i < 500; i++) Assert.True(a.TrySend(1, Pattern(1000)));

        await Eventually.TrueAsync(() => Interlocked.Read(ref b.RecvRateWaits) >= 1, "first slice used up");
        var start = b.GetStatus().BytesReceived;
        for (var i = 1; i <= Slices; i++)
        {
            time.Advance(Slice);
            var expected = i + 1;
            await Eventually.TrueAsync(() => Interlocked.Read(ref b.RecvRateWaits) >= expected, $"slice {i} used up");
        }
        var received = b.GetStatus().BytesReceived - start;
        Assert.InRange(received, Rate * Slices / 10 * 0.9, Rate * Slices / 10 * 1.1);
        Assert.True(hb.Count < 500, "the sender must stay ahead of the limit");
    }
}
