using System.Collections.Concurrent;
using Switchboard.Conn;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Conn;

/// <summary>
/// A small message sent to an idle send loop is written on the caller's thread (one thread hop less per round trip);
/// anything larger, and anything that ends the connection, is not the caller's to run.
/// </summary>
public sealed class MConnectionInlineSendTests
{
    private const byte Channel = 0x20;
    private static readonly AsyncLocal<string?> Probe = new();
    private static readonly ChannelDescriptor[] Channels = [new(Channel, 1) { SendQueueCapacity = 16, RecvMessageCapacity = 1 << 20 }];

    [Fact]
    public async Task ASmallSendToAnIdleLoopIsWrittenBeforeTrySendReturnsOnTheCallersThread()
    {
        var recorder = (ThreadRecordingStream?)null;
        var (conn, _, raw) = MConnectionKit.WithRawPeer(Channels, wrap: s => recorder = new ThreadRecordingStream(s));
        await using var _ = conn;
        await Eventually.TrueAsync(() => conn.SendLoopIdle, "the send loop parked and idle");

        var caller = await OnOwnThreadAsync(() =>
        {
            Probe.Value = "the caller's";
            Assert.True(conn.TrySend(Channel, MConnectionKit.Pattern(100)));
        });

        // Written (not just queued) before TrySend returned, by the caller's own thread, but not in the caller's
        // execution context (its AsyncLocals stay its own).
        Assert.Contains(recorder!.Writes, w => w.Thread == caller.Thread && w.Before < caller.Returned);
        Assert.All(recorder.Writes, w => Assert.Null(w.Probe));
        var (packets, _) = await MConnectionKit.ReadPacketsAsync(raw, 1);
        Assert.Equal(MConnectionKit.Pattern(100), packets[0].Data);
    }

    [Fact]
    public async Task ALargeSendIsWrittenByTheLoopNotTheCaller()
    {
        var recorder = (ThreadRecordingStream?)null;
        var (conn, _, raw) = MConnectionKit.WithRawPeer(Channels, wrap: s => recorder = new ThreadRecordingStream(s));
        await using var _ = conn;
        await Eventually.TrueAsync(() => conn.SendLoopIdle, "the send loop parked and idle");

        var message = MConnectionKit.Pattern(64 * 1024);
        var caller = await OnOwnThreadAsync(() => Assert.True(conn.TrySend(Channel, message)));

        var (packets, _) = await MConnectionKit.ReadPacketsAsync(raw, 64);
        Assert.Equal(message, packets.SelectMany(p => p.Data).ToArray());
        Assert.NotEmpty(recorder!.Writes);
        Assert.DoesNotContain(recorder.Writes, w => w.Thread == caller.Thread);
    }

    [Fact]
    public async Task AWriteThatFailsOnTheCallersThreadClosesTheConnectionOffThatThread()
    {
        var recorder = (ThreadRecordingStream?)null;
        var handler = new ThreadRecordingHandler();
        var (a, _) = DuplexPipe.CreatePair();
        await using var conn = new MConnection(recorder = new ThreadRecordingStream(a) { FailWrites = true }, Channels, handler);
        conn.Start();
        await Eventually.TrueAsync(() => conn.SendLoopIdle, "the send loop parked and idle");

        // TrySend queued the message, so it reports true; the failure is the connection's, reported once, elsewhere.
        var caller = await OnOwnThreadAsync(() => Assert.True(conn.TrySend(Channel, MConnectionKit.Pattern(100))));

        var error = await Eventually.WithinAsync(handler.Closed, "OnClosed", MConnectionKit.Timeout);
        Assert.IsType<IOException>(error);
        Assert.Contains(recorder.Writes, w => w.Thread == caller.Thread); // it did fail inline, on the caller's thread
        Assert.NotEqual(caller.Thread, handler.ClosedOnThread);
        Assert.False(conn.IsRunning);
    }

    /// <summary>Runs <paramref name="action"/> on a new dedicated thread (never a pool thread, so no continuation of
    /// the connection's can run there later by chance) and returns its id and when it returned.</summary>
    private static async Task<(int Thread, long Returned)> OnOwnThreadAsync(Action action)
    {
        var done = new TaskCompletionSource<(int, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                action();
                done.SetResult((Environment.CurrentManagedThreadId, Interlocked.Increment(ref ThreadRecordingStream.Clock)));
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }) { IsBackground = true };
        thread.Start();
        return await done.Task.WaitAsync(MConnectionKit.Timeout);
    }

    /// <summary>Records the thread of every write and a global sequence number taken before it started.</summary>
    private sealed class ThreadRecordingStream(Stream inner) : PassThroughStream(inner)
    {
        /// <summary>A process-wide sequence: orders a write against the caller's return without a clock.</summary>
        public static long Clock;

        private readonly ConcurrentQueue<(int Thread, long Before, string? Probe)> _writes = new();

        public bool FailWrites { get; init; }

        public (int Thread, long Before, string? Probe)[] Writes => _writes.ToArray();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _writes.Enqueue((Environment.CurrentManagedThreadId, Interlocked.Increment(ref Clock), Probe.Value));
            if (FailWrites) throw new IOException("the test's transport refuses writes");
            return Inner.WriteAsync(buffer, cancellationToken);
        }
    }

    private sealed class ThreadRecordingHandler : IMConnectionHandler
    {
        private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Exception?> Closed => _closed.Task;

        public int ClosedOnThread { get; private set; }

        public ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
            ValueTask.CompletedTask;

        public void OnClosed(Exception? error)
        {
            ClosedOnThread = Environment.CurrentManagedThreadId;
            _closed.TrySetResult(error);
        }
    }
}
