using Switchboard.Conn;
using Switchboard.Tests.Support;
using static Switchboard.Tests.Conn.MConnectionKit;

namespace Switchboard.Tests.Conn;

public class MConnectionPingTests
{
    private static readonly ChannelDescriptor[] Channels = [new(0x77, 1)];

    [Fact]
    public async Task AnswersAPingWithAPong()
    {
        using var doc = Vectors.Json("mconn_live_capture.json");
        var pong = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "pong_reply").GetProperty("captured_wire_hex").GetString()!;
        var (conn, _, raw) = WithRawPeer(Channels);
        await using var _ = conn;
        await WriteHexAsync(raw, "020a00");
        Assert.Equal(pong, Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
        await WriteHexAsync(raw, "020a00");
        Assert.Equal(pong, Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
    }

    [Fact]
    public async Task PingsEveryIntervalAndFailsWhenNoPongWithinTheTimeout()
    {
        var time = new ManualTimeProvider();
        var (conn, handler, raw) = WithRawPeer(Channels, new MConnectionOptions { TimeProvider = time });
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("020a00", Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
        time.Advance(TimeSpan.FromSeconds(44.9));
        Assert.True(conn.IsRunning);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.False(conn.IsRunning);
        var error = await ClosedWithAsync<P2PTimeoutException>(handler, conn);
        Assert.Equal(TimeSpan.FromSeconds(45), error.Timeout);
        Assert.Equal(ProtocolViolation.PongTimeout, Assert.IsType<ProtocolViolationException>(error.InnerException).Violation);
    }

    [Theory]
    [InlineData("0a1a080877")]             // a packet's prefix and first body bytes (10 declared), then nothing
    [InlineData("8a")]                     // half a length prefix
    [InlineData("0a1a08087710011a02686902")] // a whole message, then one byte of the next packet's prefix
    public async Task APeerThatStallsInsideAPacketIsDroppedAtThePongTimeout(string stalledHex)
    {
        // Slow-loris: bytes trickle in and stop mid-packet. Nothing can be parsed past that point, so the pong to
        // our next ping can never arrive; the pong timeout ends the connection and no partial message is delivered.
        var time = new ManualTimeProvider();
        var (conn, handler, raw) = WithRawPeer(Channels, new MConnectionOptions { TimeProvider = time });
        await WriteHexAsync(raw, stalledHex);
        var complete = stalledHex.StartsWith("0a1a08087710011a026869", StringComparison.Ordinal) ? 1 : 0;
        await Eventually.TrueAsync(() => conn.GetStatus().PacketsReceived == complete, "the complete packets were read");
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("020a00", Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
        time.Advance(TimeSpan.FromSeconds(45));
        await ClosedWithAsync<P2PTimeoutException>(handler, conn);
        Assert.Equal(complete, handler.Count);
    }

    [Fact]
    public async Task APongCancelsTheTimeoutAndPingsContinue()
    {
        var time = new ManualTimeProvider();
        var (conn, handler, raw) = WithRawPeer(Channels, new MConnectionOptions { TimeProvider = time });
        await using var _ = conn;
        // Each round is exactly one ping interval: ping at 60 s, pong answered, 46 s later (past the 45 s pong
        // timeout) still running, then 14 s more to the next ping. Advancing further would send a second ping
        // inside one round, and only one is answered per round.
        time.Advance(TimeSpan.FromSeconds(60));
        for (var round = 1; round <= 3; round++)
        {
            Assert.Equal("020a00", Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
            await WriteHexAsync(raw, "021200");
            await Eventually.TrueAsync(() => conn.GetStatus().PacketsReceived == round, "pong processed");
            time.Advance(TimeSpan.FromSeconds(46));
            Assert.True(conn.IsRunning);
            time.Advance(TimeSpan.FromSeconds(14));
        }
        Assert.Equal(0, handler.ClosedCount);
    }

    [Fact]
    public async Task ABlockedHandlerDoesNotStopPongs()
    {
        var release = new TaskCompletionSource();
        var (conn, handler, raw) = WithRawPeer(Channels);
        await using var _ = conn;
        handler.OnMessage = async (_, _, _) => await release.Task;
        await WriteHexAsync(raw, "0a1a08087710011a026869");
        await Eventually.TrueAsync(() => handler.Count == 1, "handler entered and blocked");
        await WriteHexAsync(raw, "0a1a08087710011a026869" + "020a00");
        Assert.Equal("021200", Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
        await WriteHexAsync(raw, "020a00");
        Assert.Equal("021200", Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
        Assert.Equal(1, handler.Count);
        release.SetResult();
        await Eventually.TrueAsync(() => handler.Count == 2, "second message delivered after release");
    }

    [Fact]
    public async Task ManyPingsAreAnsweredByAtLeastOneAndAtMostAsManyPongs()
    {
        var (conn, _, raw) = WithRawPeer(Channels);
        await using var _ = conn;
        await WriteHexAsync(raw, string.Concat(Enumerable.Repeat("020a00", 50)) + "0a1a08087710011a026869");
        // The pongs (coalesced while one is pending) arrive; afterwards nothing else is owed.
        var first = await ReadExactlyAsync(raw, 3);
        Assert.Equal("021200", Vectors.ToHex(first));
        await Eventually.TrueAsync(() => conn.GetStatus().PacketsReceived == 51, "all packets read");
        var sent = conn.GetStatus().PacketsSent;
        Assert.InRange(sent, 1, 50);
    }
}
