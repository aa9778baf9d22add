using Switchboard.Conn;
using Switchboard.Tests.Support;
using Switchboard.Wire;
using static Switchboard.Tests.Conn.MConnectionKit;

namespace Switchboard.Tests.Conn;

public class MConnectionTests
{
    private static ChannelDescriptor[] Ch(params byte[] ids) => ids.Select(id => new ChannelDescriptor(id, 1) { SendQueueCapacity = 100 }).ToArray();

    [Fact]
    public async Task SendsExactlyTheBytesCometBftSent()
    {
        using var doc = Vectors.Json("mconn_live_capture.json");
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        var (conn, _, raw) = WithRawPeer(Ch(0x77));
        await using var _ = conn;

        var hello = cases["send_hello_ch77"].GetProperty("captured_wire_hex").GetString()!;
        Assert.True(conn.TrySend(0x77, "hello"u8.ToArray()));
        Assert.Equal(hello, Vectors.ToHex(await ReadExactlyAsync(raw, hello.Length / 2)));

        var big = cases["send_2500_ch77"].GetProperty("captured_wire_hex").GetString()!;
        Assert.True(conn.TrySend(0x77, Pattern(2500)));
        Assert.Equal(big, Vectors.ToHex(await ReadExactlyAsync(raw, big.Length / 2)));
    }

    [Fact]
    public async Task Splits2500BytesOnChannel0x20Into1034_1034_464()
    {
        var (conn, _, raw) = WithRawPeer(Ch(0x20));
        await using var _ = conn;
        Assert.True(conn.TrySend(0x20, Pattern(2500)));
        var (packets, bytes) = await ReadPacketsAsync(raw, 3);
        Assert.Equal(1034 + 1034 + 464, bytes.Length);
        Assert.Equal("88081a850808201a8008", Vectors.ToHex(bytes.AsSpan(0, 10)));
        Assert.Equal("88081a850808201a8008", Vectors.ToHex(bytes.AsSpan(1034, 10)));
        Assert.Equal("ce031acb03082010011ac403", Vectors.ToHex(bytes.AsSpan(2068, 12)));
        Assert.Equal(Pattern(2500), packets.SelectMany(p => p.Data).ToArray());
    }

    [Fact]
    public async Task EmptyMessageIsOnePacketWithOnlyEof()
    {
        var (conn, _, raw) = WithRawPeer(Ch(0x20));
        await using var _ = conn;
        Assert.True(conn.TrySend(0x20, ReadOnlyMemory<byte>.Empty));
        Assert.Equal("061a0408201001", Vectors.ToHex(await ReadExactlyAsync(raw, 7)));
    }

    [Fact]
    public async Task DeliversWhatCometBftSends()
    {
        using var doc = Vectors.Json("mconn_live_capture.json");
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == "recv_hi_ch77");
        var (conn, handler, raw) = WithRawPeer(Ch(0x77));
        await using var _ = conn;
        await WriteHexAsync(raw, c.GetProperty("input_wire_hex").GetString()!);
        await Eventually.TrueAsync(() => handler.Count == 1, "message delivered");
        Assert.Equal((0x77, c.GetProperty("delivered_hex").GetString()), (handler.Messages[0].Channel, Vectors.ToHex(handler.Messages[0].Data)));
        var status = conn.GetStatus();
        Assert.Equal(11, status.BytesReceived);
        Assert.Equal((2L, 1L), (status.Channels[0].BytesReceived, status.Channels[0].MessagesReceived));
    }

    [Fact]
    public async Task InterleavesChannelsFragmentByFragmentAndTheReceiverReassembles()
    {
        GatedStream? gate = null;
        var (conn, _, raw) = WithRawPeer(Ch(1, 2), wrap: s => gate = new GatedStream(s));
        await using var _ = conn;
        // Hold the send loop inside its first write so both messages are queued before it picks again.
        Assert.True(conn.TrySend(1, new byte[] { 0xAA }));
        await Eventually.TrueAsync(() => gate!.WritesStarted == 1, "send loop blocked in its first write");
        var m1 = Pattern(10 * 1024);
        var m2 = m1.Select(b => (byte)~b).ToArray();
        Assert.True(conn.TrySend(1, m1));
        Assert.True(conn.TrySend(2, m2));
        gate!.Open();

        var (packets, bytes) = await ReadPacketsAsync(raw, 21);
        // Equal priorities: channel 2 (recentlySent 0) goes first, then strict alternation.
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? 2 : 1), packets.Skip(1).Select(p => p.Channel));

        // The same byte stream, fed to a receiver, reassembles both messages intact.
        var (receiver, handler, feed) = WithRawPeer(Ch(1, 2));
        await using var __ = receiver;
        await feed.WriteAsync(bytes);
        await Eventually.TrueAsync(() => handler.Count == 3, "three messages delivered");
        // Each channel has its own dispatch loop: the order holds per channel.
        var got = handler.Messages;
        Assert.Equal([[0xAA], m1], got.Where(m => m.Channel == 1).Select(m => m.Data));
        Assert.Equal(m2, Assert.Single(got, m => m.Channel == 2).Data);
    }

    [Fact]
    public async Task AnIdleSenderReturnsItsWriteBufferAndRentsItAgainForTheNextMessage()
    {
        var (a, _, b, hb) = Pair(Ch(1));
        await using var _a = a;
        await using var _b = b;
        Assert.True(await a.SendAsync(1, Pattern(100_000)));
        await Eventually.TrueAsync(() => hb.Count == 1, "first message delivered");
        await Eventually.TrueAsync(() => !a.HoldsWriteBuffer, "the idle send loop gave its buffer back");
        Assert.True(await a.SendAsync(1, Pattern(5000)));
        await Eventually.TrueAsync(() => hb.Count == 2, "second message delivered");
        Assert.Equal(Pattern(5000), hb.Messages[1].Data);
        await Eventually.TrueAsync(() => !a.HoldsWriteBuffer, "and gave it back again");
    }

    [Theory]
    [InlineData(PacketFraming.CometBft)]
    [InlineData(PacketFraming.Legacy)]
    public async Task PairExchangesMessagesOfEverySizeInOrderPerChannel(PacketFraming framing)
    {
        var options = new MConnectionOptions { Framing = framing };
        var (a, ha, b, hb) = Pair(Ch(1, 2), options);
        await using var _ = a;
        await using var __ = b;
        int[] sizes = [0, 1, 1023, 1024, 1025, 2048, 100_000, 3];
        foreach (var size in sizes)
        {
            Assert.True(await a.SendAsync(1, Pattern(size)));
            Assert.True(await a.SendAsync(2, Pattern(size + 1)));
            Assert.True(await b.SendAsync(2, Pattern(size)));
        }
        await Eventually.TrueAsync(() => hb.Count == 2 * sizes.Length && ha.Count == sizes.Length, "all delivered");
        Assert.Equal(sizes.Select(s => Pattern(s)), hb.Messages.Where(m => m.Channel == 1).Select(m => m.Data));
        Assert.Equal(sizes.Select(s => Pattern(s + 1)), hb.Messages.Where(m => m.Channel == 2).Select(m => m.Data));
        Assert.Equal(sizes.Select(s => Pattern(s)), ha.Messages.Select(m => m.Data));
        var status = a.GetStatus();
        Assert.Equal(sizes.Length, status.Channels[0].MessagesSent);
        Assert.Equal(b.GetStatus().BytesReceived, status.BytesSent);
    }

    [Fact]
    public async Task LegacyFramingWritesTheAppendixABytes()
    {
        var (conn, _, raw) = WithRawPeer(Ch(1), new MConnectionOptions { Framing = PacketFraming.Legacy });
        await using var _ = conn;
        Assert.True(conn.TrySend(1, "hello"u8.ToArray()));
        Assert.Equal("030101010568656c6c6f", Vectors.ToHex(await ReadExactlyAsync(raw, 10)));
        await WriteHexAsync(raw, "01");
        Assert.Equal("02", Vectors.ToHex(await ReadExactlyAsync(raw, 1)));
    }

    [Fact]
    public async Task PrioritiesOneAndNineShareBytesOneToNine()
    {
        // No clock movement, so recentlySent never decays: while both channels have data the byte counts stay
        // within one packet of 1:9, whatever the scheduling.
        var time = new ManualTimeProvider();
        var channels = new[]
        {
            new ChannelDescriptor(1, 1) { SendQueueCapacity = 4000 },
            new ChannelDescriptor(9, 9) { SendQueueCapacity = 4000 },
        };
        GatedStream? gate = null;
        var (a, _, raw) = WithRawPeer(channels, new MConnectionOptions { TimeProvider = time }, wrap: s => gate = new GatedStream(s));
        await using var _ = a;
        const int PerChannel = 2000;
        var message = Pattern(1000);
        // Queue everything before the first write goes out, so both channels are saturated from the start
        // (at most one 64 KiB buffer is chosen while the queues fill).
        for (var i = 0; i < PerChannel; i++)
        {
            Assert.True(a.TrySend(1, message));
            Assert.True(a.TrySend(9, message));
        }
        gate!.Open();
        // Every message is one packet of the same size: read them all off the wire and look at the channel order.
        var codec = new CometBftPacketCodec();
        var packetSize = codec.MsgPacketSize(1, true, message.Length);
        var wire = await ReadExactlyAsync(raw, 2 * PerChannel * packetSize);
        var sequence = new System.Buffers.ReadOnlySequence<byte>(wire);
        var order = new List<byte>();
        while (codec.TryRead(ref sequence, out var packet)) order.Add((byte)packet.ChannelId);
        Assert.Equal(2 * PerChannel, order.Count);
        var lastOfNine = order.LastIndexOf(9);
        var oneBeforeThat = order.Take(lastOfNine).Count(c => c == 1);
        // 2000 / 9 = 222 messages of channel 1 while channel 9 sent its 2000; ±10 %.
        Assert.InRange(oneBeforeThat, 200, 245);
    }

    [Fact]
    public async Task RecentlySentDecaysByFourFifthsEveryPeriod()
    {
        var time = new ManualTimeProvider();
        var (conn, _, raw) = WithRawPeer(Ch(1), new MConnectionOptions { TimeProvider = time });
        await using var _ = conn;
        Assert.True(conn.TrySend(1, Pattern(100)));
        var n = (await ReadPacketsAsync(raw, 1)).Bytes.Length;
        Assert.Equal(n, conn.GetStatus().Channels[0].RecentlySent);
        long expected = n;
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            expected = (long)(expected * 0.8);
            await Eventually.TrueAsync(() => conn.GetStatus().Channels[0].RecentlySent == expected, $"decayed to {expected}");
        }
        Assert.Equal(TimeSpan.FromSeconds(6), conn.GetStatus().Duration);
        Assert.Equal(n, conn.GetStatus().Channels[0].BytesSent);
    }

    [Fact]
    public async Task FlushStopSendsEverythingQueuedThenCloses()
    {
        GatedStream? gate = null;
        var channels = new[] { new ChannelDescriptor(1, 1) { SendQueueCapacity = 100 } };
        var (a, ha, b, hb) = Pair(channels, wrapA: s => gate = new GatedStream(s));
        await using var _ = b;
        for (var i = 0; i < 50; i++) Assert.True(a.TrySend(1, Pattern(5000 + i)));
        var stopping = a.FlushStopAsync();
        Assert.False(a.IsRunning);
        Assert.False(a.TrySend(1, Pattern(1)));
        Assert.False(await a.SendAsync(1, Pattern(1)));
        gate!.Open();
        await Eventually.WithinAsync(stopping, "FlushStop");
        Assert.Null(await ha.Closed);
        Assert.Equal(1, ha.ClosedCount);
        await Eventually.TrueAsync(() => hb.Count == 50, "all 50 delivered");
        Assert.Equal(Enumerable.Range(0, 50).Select(i => Pattern(5000 + i)), hb.Messages.Select(m => m.Data));
        Assert.IsType<EndOfStreamException>(await Eventually.WithinAsync(hb.Closed, "peer sees the close"));
    }

    [Fact]
    public async Task TrySendFailsWhenFullUnknownOrStopped()
    {
        GatedStream? gate = null;
        var (conn, _, raw) = WithRawPeer([new ChannelDescriptor(1, 1)], wrap: s => gate = new GatedStream(s));
        Assert.True(conn.TrySend(1, Pattern(10)));
        await Eventually.TrueAsync(() => gate!.WritesStarted == 1, "send loop blocked in its write");
        Assert.True(conn.CanSend(1));
        Assert.True(conn.TrySend(1, Pattern(11)));      // SendQueueCapacity 1 (default)
        Assert.False(conn.CanSend(1));
        Assert.False(conn.TrySend(1, Pattern(12)));     // full
        Assert.False(conn.TrySend(7, Pattern(1)));      // not registered
        Assert.False(conn.CanSend(7));
        Assert.Equal(1, conn.GetStatus().Channels[0].SendQueueSize);
        gate!.Open();
        var (packets, _) = await ReadPacketsAsync(raw, 2);
        Assert.Equal([Pattern(10), Pattern(11)], packets.Select(p => p.Data));
        await Eventually.TrueAsync(() => conn.CanSend(1), "room again");
        await conn.DisposeAsync();
        Assert.False(conn.TrySend(1, Pattern(1)));
        Assert.False(conn.CanSend(1));
    }

    [Fact]
    public async Task SendAsyncWaitsForRoomAndGivesUpAfterSendTimeout()
    {
        var time = new ManualTimeProvider();
        GatedStream? gate = null;
        var (conn, _, raw) = WithRawPeer([new ChannelDescriptor(1, 1)], new MConnectionOptions { TimeProvider = time },
            wrap: s => gate = new GatedStream(s));
        await using var _ = conn;
        Assert.True(conn.TrySend(1, Pattern(10)));
        await Eventually.TrueAsync(() => gate!.WritesStarted == 1, "send loop blocked in its write");
        Assert.True(await conn.SendAsync(1, Pattern(11)));   // room: immediate

        var timingOut = conn.SendAsync(1, Pattern(12)).AsTask();
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(timingOut.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.False(await Eventually.WithinAsync(timingOut, "SendAsync timeout"));

        var waiting = conn.SendAsync(1, Pattern(13)).AsTask();
        Assert.False(waiting.IsCompleted);
        gate!.Open();
        Assert.True(await Eventually.WithinAsync(waiting, "SendAsync gets room"));
        var (packets, _) = await ReadPacketsAsync(raw, 3);
        Assert.Equal([Pattern(10), Pattern(11), Pattern(13)], packets.Select(p => p.Data));

        using var cts = new CancellationTokenSource();
        Assert.True(conn.TrySend(1, Pattern(14)));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (true) await conn.SendAsync(1, Pattern(15), cts.Token); // fills the queue, then must throw
        });
    }

    [Fact]
    public async Task DisposeClosesOnceWithNoErrorAndStopsEverything()
    {
        var time = new ManualTimeProvider();
        var (conn, handler, raw) = WithRawPeer(Ch(1), new MConnectionOptions { TimeProvider = time, SendRate = 1000, FlushCoalescingDelay = TimeSpan.FromMilliseconds(1) });
        Assert.True(conn.IsRunning);
        await conn.DisposeAsync();
        await conn.DisposeAsync();
        await conn.FlushStopAsync();
        Assert.True(conn.Completion.IsCompletedSuccessfully);
        Assert.Null(await handler.Closed);
        Assert.Equal(1, handler.ClosedCount);
        Assert.Equal(0, time.ActiveTimers);
        Assert.Equal(0, await raw.ReadAsync(new byte[1]));   // transport closed
        Assert.Throws<InvalidOperationException>(conn.Start);
    }

    [Fact]
    public async Task DisposeBeforeStartStillReportsOnce()
    {
        var (a, _) = DuplexPipe.CreatePair();
        var handler = new RecordingHandler();
        var conn = new MConnection(a, Ch(1), handler);
        Assert.False(conn.TrySend(1, Pattern(1)));
        await conn.DisposeAsync();
        Assert.Null(await handler.Closed);
        Assert.Equal(1, handler.ClosedCount);
    }

    [Fact]
    public async Task HandlerExceptionClosesTheConnectionWithTheCause()
    {
        var (conn, handler, raw) = WithRawPeer(Ch(0x77));
        handler.OnMessage = (_, _, _) => throw new InvalidOperationException("reactor bug");
        await WriteHexAsync(raw, "0a1a08087710011a026869");
        var error = await ClosedWithAsync<P2PException>(handler, conn);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public async Task HandlerMayDisposeTheConnectionFromInsideOnMessage()
    {
        var (conn, handler, raw) = WithRawPeer(Ch(0x77));
        handler.OnMessage = async (_, _, _) => await conn.DisposeAsync();
        await WriteHexAsync(raw, "0a1a08087710011a026869");
        await Eventually.WithinAsync(conn.Completion, "closed from the handler");
        Assert.Null(await handler.Closed);
    }

    [Fact]
    public void ConstructorAndOptionsValidate()
    {
        var (a, _) = DuplexPipe.CreatePair();
        var h = new RecordingHandler();
        Assert.Throws<ArgumentException>(() => new MConnection(a, [new ChannelDescriptor(1, 1), new ChannelDescriptor(1, 2)], h));
        Assert.Throws<ArgumentException>(() => new MConnection(a, [], h));
        Assert.Throws<ArgumentException>(() => new MConnection(a, [new ChannelDescriptor(1, 0)], h));
        Assert.Throws<ArgumentException>(() => new MConnection(a, Ch(1), h,
            new MConnectionOptions { PingInterval = TimeSpan.FromSeconds(10), PongTimeout = TimeSpan.FromSeconds(10) }));
        Assert.Throws<ArgumentException>(() => new MConnectionOptions { SendRate = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new MConnectionOptions { WriteBufferSize = 1000 }.Validate());
        Assert.Throws<ArgumentException>(() => new ChannelDescriptor(1, 1) { RecvMessageCapacity = -1 }.Validate());
        new MConnectionOptions().Validate();

        var zero = new ChannelDescriptor(1, 1) { SendQueueCapacity = 0, RecvBufferCapacity = 0, RecvMessageCapacity = 0 };
        Assert.Equal((1, 4096, 22_020_096), (zero.SendQueueCapacity, zero.RecvBufferCapacity, zero.RecvMessageCapacity));
        var o = MConnectionOptions.Default;
        Assert.Equal((PacketFraming.CometBft, 1024, 60.0, 45.0, 10.0, 0L, 0L, 2.0, 65536),
            (o.Framing, o.MaxPacketMsgPayloadSize, o.PingInterval.TotalSeconds, o.PongTimeout.TotalSeconds, o.SendTimeout.TotalSeconds,
             o.SendRate, o.RecvRate, o.StatsDecayPeriod.TotalSeconds, o.WriteBufferSize));
        Assert.Equal(TimeSpan.Zero, o.FlushCoalescingDelay);
    }

    [Fact]
    public async Task FlushCoalescingDelayHoldsPacketsUntilTheTimerFires()
    {
        var time = new ManualTimeProvider();
        var (conn, _, raw) = WithRawPeer(Ch(1), new MConnectionOptions { TimeProvider = time, FlushCoalescingDelay = TimeSpan.FromMilliseconds(2) });
        await using var _ = conn;
        Assert.True(conn.TrySend(1, Pattern(5)));
        await Eventually.TrueAsync(() => conn.GetStatus().PacketsSent == 1, "packet encoded");
        Assert.Equal(0, conn.GetStatus().BytesSent);   // still in the output buffer
        Assert.True(conn.TrySend(1, Pattern(6)));
        await Eventually.TrueAsync(() => conn.GetStatus().PacketsSent == 2, "second packet encoded");
        time.Advance(TimeSpan.FromMilliseconds(2));
        var (packets, bytes) = await ReadPacketsAsync(raw, 2);
        Assert.Equal([Pattern(5), Pattern(6)], packets.Select(p => p.Data));
        Assert.Equal(bytes.Length, conn.GetStatus().BytesSent);
    }
}
