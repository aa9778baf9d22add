using Switchboard.Conn;
using Switchboard.Tests.Support;
using Switchboard.Wire;
using static Switchboard.Tests.Conn.MConnectionKit;

namespace Switchboard.Tests.Conn;

/// <summary>
/// Byte budgets and the per-channel full policies of a standalone connection, driven from a raw peer: the receive
/// loop never waits on the handler, a slow channel costs only itself (drop, disconnect) or pauses reading for a bounded
/// time (back-pressure) without blaming the peer for late pongs.
/// </summary>
public class MConnectionFlowControlTests
{
    /// <summary>Channel 1 holds up to two 1000-byte messages per peer; channel 2 is an ordinary channel.</summary>
    private static ChannelDescriptor[] Channels(ChannelFullMode mode) =>
    [
        new(1, 1) { RecvMessageCapacity = 4000, RecvQueueBytes = 4000, FullMode = mode },
        new(2, 1),
    ];

    private static byte[] Message(byte tag, int length = 1000) => Enumerable.Repeat(tag, length).ToArray();

    /// <summary>Sends #0 and waits until the handler holds it, then sends #1 … #count−1 on channel 1.</summary>
    private static async Task FillChannelOneAsync(Stream raw, RecordingHandler handler, int count)
    {
        await WriteMessageAsync(raw, 1, Message(0));
        await Eventually.TrueAsync(() => handler.Count == 1, "the handler holds #0");
        for (var i = 1; i < count; i++) await WriteMessageAsync(raw, 1, Message((byte)i));
    }

    /// <summary>A handler that blocks on channel 1 until released, and records everything.</summary>
    private static TaskCompletionSource BlockChannelOne(RecordingHandler handler)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        handler.OnMessage = async (channel, _, token) =>
        {
            if (channel == 1) await gate.Task.WaitAsync(token);
        };
        return gate;
    }

    [Fact]
    public async Task DropNewestDropsOnlyTheFullChannelAndKeepsAnsweringPings()
    {
        var (conn, handler, raw) = WithRawPeer(Channels(ChannelFullMode.DropNewest));
        await using var _ = conn;
        var gate = BlockChannelOne(handler);

        // #0 is taken by the blocked handler, #1 … #4 fill the 4000-byte queue; #5 … #9 and a 3-packet message are dropped.
        await FillChannelOneAsync(raw, handler, 10);
        await WriteMessageAsync(raw, 1, Message(0xEE, 3000));
        // Channel 2 and ping/pong go on meanwhile.
        for (byte i = 0; i < 20; i++) await WriteMessageAsync(raw, 2, Message(i, 10));
        await WriteHexAsync(raw, "020a00");
        Assert.Equal("021200", Vectors.ToHex(await ReadExactlyAsync(raw, 3)));
        await Eventually.TrueAsync(() => handler.Messages.Count(m => m.Channel == 2) == 20, "channel 2 delivered while channel 1 is blocked");

        var status = conn.GetStatus().Channels[0];
        Assert.Equal(6, status.MessagesDropped);
        Assert.Equal(5 * 1000 + 3000, status.BytesDropped);
        Assert.Equal(4000, status.RecvQueueBytes);
        Assert.True(conn.GetStatus().PeakBufferedBytes <= conn.Options.MaxBufferedBytes + conn.Options.MaxSendBufferedBytes);

        // The channel's budget frees as the handler catches up; a message after that is received again.
        gate.SetResult();
        await Eventually.TrueAsync(() => handler.Messages.Count(m => m.Channel == 1) == 5, "the five accepted messages");
        await WriteMessageAsync(raw, 1, Message(42, 2500));
        await Eventually.TrueAsync(() => handler.Messages.Count(m => m.Channel == 1) == 6, "channel 1 receives again");
        Assert.Equal(
            [Message(0), Message(1), Message(2), Message(3), Message(4), Message(42, 2500)],
            handler.Messages.Where(m => m.Channel == 1).Select(m => m.Data));
        Assert.True(conn.IsRunning);
        // Everything consumed: nothing is held, no reassembly buffer kept.
        await Eventually.TrueAsync(() => conn.GetStatus().BufferedInboundBytes == 0, "all inbound bytes returned");
    }

    [Fact]
    public async Task DisconnectPeerFailsTheConnectionBlamingThePeerAndDeliversWhatCameBefore()
    {
        var (conn, handler, raw) = WithRawPeer(Channels(ChannelFullMode.DisconnectPeer));
        var gate = BlockChannelOne(handler);
        await FillChannelOneAsync(raw, handler, 6);
        await Eventually.TrueAsync(() => !conn.IsRunning, "closed when the sixth message did not fit");
        gate.SetResult();
        var error = await ClosedWithAsync<FlowControlException>(handler, conn);
        Assert.Equal(FlowControlFault.PeerOverBudget, error.Fault);
        Assert.Equal((byte)1, error.ChannelId);
        Assert.False(error.IsLocalFault);
        Assert.Contains("channel 0x01", error.Message);
        // What was accepted before the overflow is still delivered, in order, before OnClosed.
        Assert.Equal([Message(0), Message(1), Message(2), Message(3), Message(4)], handler.Messages.Select(m => m.Data));
    }

    [Fact]
    public async Task BackPressurePausesReadingWithoutBlamingLatePongsAndEndsAsALocalFaultAtTheLimit()
    {
        var time = new ManualTimeProvider();
        var options = new MConnectionOptions { TimeProvider = time, MaxReadPause = TimeSpan.FromSeconds(200) };
        var (conn, handler, raw) = WithRawPeer(Channels(ChannelFullMode.BackPressure), options);
        var gate = BlockChannelOne(handler);
        await FillChannelOneAsync(raw, handler, 6);
        await Eventually.TrueAsync(() => conn.GetStatus().ReadPaused, "reading paused on the sixth message");
        Assert.Equal(1, conn.GetStatus().ReadPauses);

        // Our ping still goes out; the peer's pong lands behind the unread message, so it cannot be read.
        time.Advance(TimeSpan.FromSeconds(60));
        var (packets, _) = await ReadPacketsAsync(raw, 1);
        Assert.Equal(PacketKind.Ping, packets[0].Kind);
        await WriteHexAsync(raw, "021200");
        time.Advance(TimeSpan.FromSeconds(100)); // 55 s past the pong timeout: not counted while we are paused
        Assert.True(conn.IsRunning);

        time.Advance(TimeSpan.FromSeconds(40)); // 200 s paused
        Assert.False(conn.IsRunning);
        gate.SetResult(); // what was accepted is still delivered before OnClosed
        var error = await ClosedWithAsync<FlowControlException>(handler, conn);
        Assert.Equal(5, handler.Count);
        Assert.Equal(FlowControlFault.LocalConsumerStalled, error.Fault);
        Assert.True(error.IsLocalFault);
        Assert.Equal((byte)1, error.ChannelId);
        Assert.Contains("channel 0x01", error.Message);
        Assert.Contains("local", error.Message);
    }

    [Fact]
    public async Task BackPressureResumesWhenTheConsumerCatchesUpAndThePongDeadlineRestarts()
    {
        var time = new ManualTimeProvider();
        var (conn, handler, raw) = WithRawPeer(Channels(ChannelFullMode.BackPressure), new MConnectionOptions { TimeProvider = time });
        await using var _ = conn;
        var gate = BlockChannelOne(handler);
        await FillChannelOneAsync(raw, handler, 8);
        await Eventually.TrueAsync(() => conn.GetStatus().ReadPaused, "paused");
        time.Advance(TimeSpan.FromSeconds(20));
        gate.SetResult();
        await Eventually.TrueAsync(() => handler.Messages.Count(m => m.Channel == 1) == 8, "every message delivered, nothing dropped");
        Assert.False(conn.GetStatus().ReadPaused);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => Message((byte)i)), handler.Messages.Select(m => m.Data));
        Assert.Equal(0, conn.GetStatus().Channels[0].MessagesDropped);
        time.Advance(TimeSpan.FromSeconds(30)); // 50 s: past the pause limit had it still been paused
        Assert.True(conn.IsRunning);
    }

    [Fact]
    public async Task UnreadRepliesNeverPauseReadingAndInboundTrafficNeverStarvesReplies()
    {
        // The peer sends requests and never reads the answers. Inbound and send budgets are separate: the answers fill
        // the send budget (TrySend refuses), reading goes on, and the inbound budget stays usable.
        var options = new MConnectionOptions { MaxBufferedBytes = 300_000, MaxSendBufferedBytes = 400_000 };
        MConnection? conn = null;
        var refused = 0;
        var (c, handler, raw) = WithRawPeer([new ChannelDescriptor(1, 1) { RecvMessageCapacity = 100_000, SendQueueCapacity = 1000 }], options);
        conn = c;
        await using var _ = conn;
        handler.OnMessage = (channel, message, _) =>
        {
            if (!conn.TrySend(channel, message)) Interlocked.Increment(ref refused);
            return ValueTask.CompletedTask;
        };
        for (var i = 0; i < 40; i++) await WriteMessageAsync(raw, 1, Message((byte)i, 100_000));
        // With one budget for both directions the unread answers would have filled it and reading would stay paused.
        await Eventually.TrueAsync(() => handler.Count == 40, "every request read and handled");
        var status = conn.GetStatus();
        Assert.False(status.ReadPaused);
        Assert.True(Volatile.Read(ref refused) > 0, "answers beyond the send budget are refused");
        Assert.InRange(status.BufferedSendBytes, 1, options.MaxSendBufferedBytes);
        Assert.True(status.PeakBufferedBytes <= options.MaxBufferedBytes + options.MaxSendBufferedBytes);
    }

    [Fact]
    public async Task TinyMessagesAreChargedAtLeastTheirQueueCostSoAFloodOfEmptyOnesIsBounded()
    {
        var (conn, handler, raw) = WithRawPeer([new ChannelDescriptor(1, 1) { RecvMessageCapacity = 1000, RecvQueueBytes = 1280, FullMode = ChannelFullMode.DropNewest }]);
        await using var _ = conn;
        var gate = BlockChannelOne(handler);
        await WriteMessageAsync(raw, 1, []);
        await Eventually.TrueAsync(() => handler.Count == 1, "the handler holds the first");
        for (var i = 0; i < 20; i++) await WriteMessageAsync(raw, 1, []);
        // 1280 bytes hold ten empty messages at 128 each; the other ten are dropped.
        await Eventually.TrueAsync(() => conn.GetStatus().Channels[0].MessagesDropped == 10, "ten dropped");
        Assert.Equal(10, conn.GetStatus().Channels[0].RecvQueueMessages);
        gate.SetResult();
        await Eventually.TrueAsync(() => handler.Count == 11, "the held one and the ten queued");
    }

    [Fact]
    public async Task LargeMessagesInterleavedOnTwoChannelsBeyondTheBudgetArePutOnThePeer()
    {
        // Each channel's message fits alone, the two half-received ones together do not, and no consumer holds anything
        // to give back: pausing could never end, so the peer is refused at once instead of our consumer being blamed later.
        var channels = new[]
        {
            new ChannelDescriptor(1, 1) { RecvMessageCapacity = 3000, RecvBufferCapacity = 1024 },
            new ChannelDescriptor(2, 1) { RecvMessageCapacity = 3000, RecvBufferCapacity = 1024 },
        };
        var (conn, handler, raw) = WithRawPeer(channels, new MConnectionOptions { MaxBufferedBytes = 3000 });
        var codec = new CometBftPacketCodec();
        var buffer = new byte[4 * (codec.MaxPacketSize + 16)];
        var length = 0;
        var fragment = Message(7, 1024);
        length += codec.WriteMsg(buffer.AsSpan(length), 1, false, fragment);
        length += codec.WriteMsg(buffer.AsSpan(length), 2, false, fragment);
        length += codec.WriteMsg(buffer.AsSpan(length), 1, false, fragment);
        await raw.WriteAsync(buffer.AsMemory(0, length));
        await raw.FlushAsync();
        var error = await ClosedWithAsync<FlowControlException>(handler, conn);
        Assert.Equal(FlowControlFault.PeerOverBudget, error.Fault);
        Assert.Contains("unfinished", error.Message);
    }

    [Fact]
    public async Task AWriteThatMakesNoProgressIsDetectedByTheHeartbeat()
    {
        var time = new ManualTimeProvider();
        GatedStream? gate = null;
        var (conn, handler, _) = WithRawPeer([new ChannelDescriptor(1, 1)], new MConnectionOptions { TimeProvider = time },
            wrap: s => gate = new GatedStream(s));
        Assert.True(conn.TrySend(1, Message(1)));
        await Eventually.TrueAsync(() => gate!.WritesStarted == 1, "the send loop is inside its write");
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(conn.IsRunning);
        time.Advance(TimeSpan.FromSeconds(1));
        var error = await ClosedWithAsync<FlowControlException>(handler, conn);
        Assert.Equal(FlowControlFault.WriteStalled, error.Fault);
        Assert.False(error.IsLocalFault);
    }

    [Fact]
    public async Task SendQueuesAreBoundedInBytesAndFreeAsTheyDrain()
    {
        GatedStream? gate = null;
        var options = new MConnectionOptions { MaxSendBufferedBytes = 10_000 };
        var (conn, _, raw) = WithRawPeer([new ChannelDescriptor(1, 1) { SendQueueCapacity = 1000, RecvMessageCapacity = 10_000 }], options,
            wrap: s => gate = new GatedStream(s));
        await using var _ = conn;
        Assert.True(conn.TrySend(1, Message(0, 100)));
        await Eventually.TrueAsync(() => gate!.WritesStarted == 1, "the send loop is inside its first write");
        var accepted = 0;
        while (conn.TrySend(1, Message(1, 1000))) accepted++;
        // The 100-byte message was encoded (and its bytes returned) before the write; 10 × 1000 bytes fill the budget.
        Assert.Equal(10, accepted);
        Assert.True(conn.GetStatus().BufferedSendBytes <= options.MaxSendBufferedBytes);
        Assert.False(await conn.SendAsync(1, new byte[20_000])); // can never fit: refused at once
        var waiting = conn.SendAsync(1, Message(2, 1000)).AsTask();
        Assert.False(waiting.IsCompleted);
        gate!.Open();
        Assert.True(await Eventually.WithinAsync(waiting, "room after the queue drains"));
        var (packets, _) = await ReadPacketsAsync(raw, 12);
        Assert.Equal(12, packets.Count);
        await Eventually.TrueAsync(() => conn.GetStatus().BufferedSendBytes == 0, "send bytes returned");
    }

    [Fact]
    public async Task DisposeFromWorkTheHandlerStartsWaitsForTheIoLoops()
    {
        GatedStream? transport = null;
        var (conn, handler, raw) = WithRawPeer([new ChannelDescriptor(1, 1)], wrap: s =>
        {
            transport = new GatedStream(s);
            transport.Open();
            return transport;
        });
        var observed = new TaskCompletionSource<(bool Running, bool Disposed)>(TaskCreationOptions.RunContinuationsAsynchronously);
        handler.OnMessage = async (_, _, _) =>
        {
            // Task.Run inherits the dispatch loop's execution context: the stop must neither deadlock nor return early.
            await Task.Run(async () => await conn.DisposeAsync());
            observed.TrySetResult((conn.IsRunning, transport!.Disposed));
        };
        await WriteMessageAsync(raw, 1, Message(1, 10));
        var (running, disposed) = await Eventually.WithinAsync(observed.Task, "dispose returned inside the handler");
        Assert.False(running);
        Assert.True(disposed);
        await Eventually.WithinAsync(conn.Completion, "completion after the handler returned");
        Assert.Null(await handler.Closed);
    }

    [Fact]
    public async Task ReassemblyMemoryIsReturnedAfterEachMessage()
    {
        var (conn, handler, raw) = WithRawPeer([new ChannelDescriptor(1, 1) { RecvMessageCapacity = 1 << 20 }]);
        await using var _ = conn;
        for (var i = 0; i < 3; i++)
        {
            var big = Pattern(300_000 + i);
            await WriteMessageAsync(raw, 1, big);
            await Eventually.TrueAsync(() => handler.Count == i + 1, $"message {i}");
            Assert.Equal(big, handler.Messages[i].Data);
            await Eventually.TrueAsync(() => conn.GetStatus().BufferedInboundBytes == 0, "no reassembly buffer kept between messages");
        }
        Assert.InRange(conn.GetStatus().PeakBufferedBytes, 300_000, 2 * 300_002);
    }

    [Fact]
    public void AChannelWhoseLargestMessageCannotFitTheBudgetIsRefused()
    {
        var (a, _) = DuplexPipe.CreatePair();
        var error = Assert.Throws<ArgumentException>(() => new MConnection(a, [new ChannelDescriptor(1, 1)], new RecordingHandler(),
            new MConnectionOptions { MaxBufferedBytes = 1 << 20 }));
        Assert.Contains("MaxBufferedBytes", error.Message);
        Assert.Throws<ArgumentException>(() => new ChannelDescriptor(1, 1) { RecvMessageCapacity = 1000, RecvQueueBytes = 999 }.Validate());
    }
}
