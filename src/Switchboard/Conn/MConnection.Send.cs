using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Switchboard.Conn;

public sealed partial class MConnection
{
    /// <summary>Room kept free after the last data packet so a ping and a pong always fit without a write.</summary>
    private const int ControlReserve = 16;

    private readonly MConnectionSignal _sendSignal = new();

    /// <summary>A message up to this size, queued while the send loop has been idle for <see cref="InlineIdleTicks"/>,
    /// is written on the caller's thread (see <see cref="WakeSendLoop"/>); it is also what the loop does there at most.</summary>
    private const int InlineSendMaxBytes = 4096;

    /// <summary>10 µs: a loop parked for less is in the middle of a burst, whose batching must not be lost.</summary>
    private static readonly long InlineIdleTicks = Stopwatch.Frequency / 100_000;

    /// <summary>When the send loop last went to wait (Stopwatch ticks).</summary>
    private long _parkedAt;

    /// <summary>The managed thread id of the caller the send loop is running on now (0: none).</summary>
    private int _inlineThread;

    private bool OnCallerThread => Volatile.Read(ref _inlineThread) == Environment.CurrentManagedThreadId;

    /// <summary>The send loop is parked and has been idle long enough that a small send runs it inline (tests).</summary>
    internal bool SendLoopIdle => _sendSignal.IsWaiting && Stopwatch.GetTimestamp() - Volatile.Read(ref _parkedAt) >= InlineIdleTicks;
    private byte[] _out = [];
    private int _outLength;
    private bool _unflushed;
    private FlowRateLimiter? _sendLimiter;
    private int _decayDue;
    /// <summary>Timestamp at which the pending transport write or flush began (0: none).</summary>
    private long _writeStartedAt = NoTimestamp;
    private int _flushDue;
    private int _flushTimerArmed;
    private int _rateTimerArmed;

    /// <summary>Whether the send loop holds its write buffer now (tests check an idle connection holds none).</summary>
    internal bool HoldsWriteBuffer => Volatile.Read(ref _out).Length != 0;

    /// <summary>Times the send loop started waiting for the send-rate limiter (tests step the clock on it).</summary>
    internal long SendRateWaits;

    /// <summary>
    /// The send loop. Each wake-up: decay stats if due, write requested pong/ping, then write data packets from the
    /// channel chosen by the selection rule until the queues are empty or the rate budget is used, encoding them
    /// into one pooled buffer that goes to the transport in a single write whenever it fills; then flush at once
    /// (or after <see cref="MConnectionOptions.FlushCoalescingDelay"/>).
    /// </summary>
    private async Task SendLoopAsync()
    {
        var token = _cts.Token;
        if (_options.SendRate > 0) _sendLimiter = new FlowRateLimiter(_options.SendRate, _time);
        var packetRoom = _codec.MaxPacketSize + ControlReserve;
        try
        {
            while (true)
            {
                Volatile.Write(ref _parkedAt, Stopwatch.GetTimestamp());
                var wake = _sendSignal.WaitAsync();
                // Signalled again while still on a caller's thread: the rest is not that caller's to pay for.
                if (wake.IsCompleted && OnCallerThread) await default(ThreadPoolHop);
                await wake.ConfigureAwait(false);
                if (IsClosed) break;
                // The write buffer is held only while there is something to write (see the end of the loop).
                if (_out.Length == 0) _out = ArrayPool<byte>.Shared.Rent(_options.WriteBufferSize);

                if (Interlocked.Exchange(ref _decayDue, 0) != 0)
                    foreach (var channel in _channels) channel.DecayRecentlySent();

                var flushNow = WriteControlPackets();
                var rateBlocked = false;
                while (true)
                {
                    // On a caller's thread the loop writes one small message's worth, then moves to the thread pool.
                    if (_outLength >= InlineSendMaxBytes && OnCallerThread) await default(ThreadPoolHop);
                    // A pong requested while a long message is going out is written between two fragments.
                    if (Volatile.Read(ref _pongRequested) != 0 || Volatile.Read(ref _pingDue) != 0)
                        flushNow |= WriteControlPackets();
                    if (_sendLimiter is not null)
                    {
                        var delay = _sendLimiter.GetDelay();
                        if (delay > TimeSpan.Zero)
                        {
                            ArmRateTimer(delay);
                            rateBlocked = true;
                            break;
                        }
                    }
                    var selected = SelectChannel();
                    if (selected is null) break;
                    if (_out.Length - _outLength < packetRoom)
                        await WriteOutAsync(flush: false, token).ConfigureAwait(false);
                    var written = WriteDataPacket(selected);
                    _sendLimiter?.Record(written);
                }

                var flushDue = Interlocked.Exchange(ref _flushDue, 0) != 0;
                var draining = Volatile.Read(ref _state) == StateDraining;
                if (flushNow || rateBlocked || flushDue || draining || _options.FlushCoalescingDelay == TimeSpan.Zero)
                {
                    await WriteOutAsync(flush: true, token).ConfigureAwait(false);
                }
                else if (_outLength > 0 && Interlocked.Exchange(ref _flushTimerArmed, 1) == 0)
                {
                    _flushTimer!.Change(_options.FlushCoalescingDelay, Timeout.InfiniteTimeSpan);
                }

                if (draining && !rateBlocked)
                {
                    // FlushStop: queues were completed, so nothing new can arrive; everything is written and flushed.
                    Close(null);
                    break;
                }
                if (_outLength == 0)
                {
                    // Everything handed to the transport: an idle peer keeps no write buffer. (Packets waiting for the
                    // flush-coalescing timer stay in the buffer, so it is kept then.)
                    ArrayPool<byte>.Shared.Return(_out);
                    _out = [];
                }
            }
        }
        catch (Exception) when (IsClosed)
        {
            // Cancelled or disposed underneath us by a close that already has its reason.
        }
        catch (Exception ex)
        {
            if (OnCallerThread) await default(ThreadPoolHop);
            Close(ex is IOException or P2PException ? ex : new IOException($"write failed: {ex.Message}", ex));
        }
        finally
        {
            // The loop's end (and what awaits it: the connection's shutdown) never runs on a caller's thread.
            if (OnCallerThread) await default(ThreadPoolHop);
            var buffer = _out;
            _out = [];
            if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Wakes the send loop for a message a caller has just queued. When the message is small and the loop has been
    /// idle for a while (a request or a reply, not a burst), the loop runs on the caller's thread until that message is
    /// handed to the transport: one thread hop less on the way out, which is most of a round trip's overhead. Otherwise,
    /// and for whatever follows on the caller's thread beyond <see cref="InlineSendMaxBytes"/>, it runs on the thread
    /// pool, so a burst is still batched into large writes and no caller pays for other callers' messages.
    /// </summary>
    private void WakeSendLoop(int length)
    {
        var me = Environment.CurrentManagedThreadId;
        if (length <= InlineSendMaxBytes
            && Stopwatch.GetTimestamp() - Volatile.Read(ref _parkedAt) >= InlineIdleTicks
            && Interlocked.CompareExchange(ref _inlineThread, me, 0) == 0)
        {
            try
            {
                // The loop resumes in the execution context it captured when it parked (the pool's empty one), not
                // the caller's: the caller's AsyncLocals do not show inside it or stay with it (a test checks this).
                _sendSignal.SetInline();
            }
            finally
            {
                Volatile.Write(ref _inlineThread, 0);
            }
            return;
        }
        _sendSignal.Set();
    }

    /// <summary>Continues on the thread pool (never inline, never on a captured context).</summary>
    private readonly struct ThreadPoolHop : ICriticalNotifyCompletion
    {
        public ThreadPoolHop GetAwaiter() => this;

        public bool IsCompleted => false;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) =>
            ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) =>
            ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }

    /// <summary>Lowest recentlySent / priority (as 32-bit floats, like CometBFT) among channels with data; ties to
    /// the earlier registered channel.</summary>
    private MConnectionChannelState? SelectChannel()
    {
        MConnectionChannelState? best = null;
        var bestRatio = 0f;
        var dequeued = false;
        foreach (var channel in _channels)
        {
            if (!channel.IsSendPending(ref dequeued)) continue;
            var ratio = (float)channel.RecentlySent / channel.Priority;
            if (best is null || ratio < bestRatio)
            {
                best = channel;
                bestRatio = ratio;
            }
        }
        if (dequeued) OnSendSlotFreed();
        return best;
    }

    private int WriteDataPacket(MConnectionChannelState channel)
    {
        var fragment = channel.NextFragment(_codec.MaxPayloadSize, out var eof);
        var written = _codec.WriteMsg(_out.AsSpan(_outLength), channel.Id, eof, fragment);
        _outLength += written;
        channel.FragmentWritten(fragment.Length, eof, written);
        Volatile.Write(ref _packetsSent, _packetsSent + 1);
        return written;
    }

    /// <summary>Hands the buffered packets to the transport in one write, and flushes it if asked.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteOutAsync(bool flush, CancellationToken cancellationToken)
    {
        if (_outLength > 0)
        {
            var length = _outLength;
            _outLength = 0;
            _unflushed = true;
            // The heartbeat fails the connection if this write makes no progress for WriteStallTimeout.
            Volatile.Write(ref _writeStartedAt, _time.GetTimestamp());
            await _transport.WriteAsync(_out.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _writeStartedAt, NoTimestamp);
            Volatile.Write(ref _bytesSent, _bytesSent + length);
        }
        if (flush && _unflushed)
        {
            _unflushed = false;
            if (Interlocked.Exchange(ref _flushTimerArmed, 0) != 0)
                _flushTimer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Volatile.Write(ref _writeStartedAt, _time.GetTimestamp());
            await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _writeStartedAt, NoTimestamp);
        }
    }

    private void ArmRateTimer(TimeSpan delay)
    {
        if (Interlocked.Exchange(ref _rateTimerArmed, 1) != 0) return;
        _rateTimer!.Change(delay, Timeout.InfiniteTimeSpan);
        // Counted after arming, so a test that sees the count can move the clock past the timer.
        Interlocked.Increment(ref SendRateWaits);
    }
}
