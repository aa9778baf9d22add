using System.Buffers;
using System.Runtime.CompilerServices;

namespace Switchboard.Conn;

public sealed partial class MConnection
{
    /// <summary>Room kept free after the last data packet so a ping and a pong always fit without a write.</summary>
    private const int ControlReserve = 16;

    private readonly MConnectionSignal _sendSignal = new();
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
                await _sendSignal.WaitAsync().ConfigureAwait(false);
                if (IsClosed) break;
                // The write buffer is held only while there is something to write (see the end of the loop).
                if (_out.Length == 0) _out = ArrayPool<byte>.Shared.Rent(_options.WriteBufferSize);

                if (Interlocked.Exchange(ref _decayDue, 0) != 0)
                    foreach (var channel in _channels) channel.DecayRecentlySent();

                var flushNow = WriteControlPackets();
                var rateBlocked = false;
                while (true)
                {
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
            Close(ex is IOException or P2PException ? ex : new IOException($"write failed: {ex.Message}", ex));
        }
        finally
        {
            var buffer = _out;
            _out = [];
            if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        }
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
