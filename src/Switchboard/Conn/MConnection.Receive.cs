using System.Buffers;
using Switchboard.Wire;

namespace Switchboard.Conn;

public sealed partial class MConnection
{
    /// <summary>Wakes the receive loop while it is paused on a full back-pressure channel.</summary>
    private readonly MConnectionSignal _recvSpace = new();

    /// <summary>Timestamp since which reading is paused (0: not paused), and the channel that paused it.</summary>
    private long _pausedSince = NoTimestamp;
    private int _pausedChannel = -1;
    /// <summary>Timestamp of the last resume after a pause (pong deadlines restart from it).</summary>
    private long _resumedAt = NoTimestamp;
    private long _readPauses;
    /// <summary>The current pause began because the node-wide pool was full (not this channel's consumer).</summary>
    private bool _pausedOnPool;

    private long LaneBytes()
    {
        long total = 0;
        foreach (var channel in _channels) total += channel.Lane.Bytes;
        return total;
    }

    /// <summary>Times the receive loop paused for the receive-rate limiter (tests step the clock on it).</summary>
    internal long RecvRateWaits;

    /// <summary>
    /// The receive loop: decodes packets from the pipe (no copy), acts on pings and pongs at once, reassembles fragments
    /// per channel and admits complete messages into their channel's inbound queue within the byte budgets. It never
    /// waits on application code; the only wait besides reading is the pause of a full
    /// <see cref="ChannelFullMode.BackPressure"/> channel, which the heartbeat bounds. Any error is fatal and reported once.
    /// </summary>
    private async Task ReceiveLoopAsync()
    {
        var token = _cts.Token;
        var reader = _reader!;
        var limiter = _options.RecvRate > 0 ? new FlowRateLimiter(_options.RecvRate, _time) : null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var delay = TimeSpan.Zero;
                var needMore = false;
                while (true)
                {
                    if (limiter is not null && (delay = limiter.GetDelay()) > TimeSpan.Zero) break;
                    var before = buffer.Length;
                    if (!_codec.TryRead(ref buffer, out var packet))
                    {
                        needMore = true;
                        break;
                    }
                    var packetBytes = before - buffer.Length;
                    limiter?.Record(packetBytes);
                    switch (packet.Kind)
                    {
                        case PacketKind.Ping:
                            OnPingReceived();
                            break;
                        case PacketKind.Pong:
                            OnPongReceived();
                            break;
                        default:
                            // The pipe buffer (and so packet.Data) stays valid until AdvanceTo, also across a pause.
                            if (!TryReceiveFragment(in packet))
                                await ReceiveFragmentSlowAsync((byte)packet.ChannelId, packet.Data, packet.Eof, token).ConfigureAwait(false);
                            break;
                    }
                    // Counted once handled, so an observer of the count also sees the packet's effect.
                    Volatile.Write(ref _bytesReceived, _bytesReceived + packetBytes);
                    Volatile.Write(ref _packetsReceived, _packetsReceived + 1);
                }
                // Everything was examined only when we stopped for lack of bytes; after a rate-limit pause the
                // remaining packets must be returned by the next read without waiting for new data.
                reader.AdvanceTo(buffer.Start, needMore ? buffer.End : buffer.Start);
                if (delay > TimeSpan.Zero)
                {
                    var pause = Task.Delay(delay, _time, token);
                    Interlocked.Increment(ref RecvRateWaits); // after the timer exists (tests step the clock on it)
                    await pause.ConfigureAwait(false);
                    continue;
                }
                if (result.IsCompleted)
                {
                    throw buffer.IsEmpty
                        ? new EndOfStreamException("the peer closed the connection")
                        : new ProtocolViolationException(ProtocolViolation.Truncated,
                            $"the stream ended inside a packet ({buffer.Length} bytes left)");
                }
                if (result.IsCanceled) return;
            }
        }
        catch (Exception) when (IsClosed)
        {
            // A local close (or an earlier failure) cancelled the read; nothing to report.
        }
        catch (Exception ex)
        {
            Close(ex is IOException or P2PException ? ex : new IOException($"read failed: {ex.Message}", ex));
        }
        finally
        {
            Volatile.Write(ref _pausedSince, NoTimestamp);
            foreach (var channel in _channels) channel.ReleaseReceiveBuffer();
        }
    }

    private MConnectionChannelState ChannelFor(int channelId) =>
        ((uint)channelId < 256 ? _byId[channelId] : null) ?? throw new ProtocolViolationException(ProtocolViolation.UnknownChannel,
            $"packet for channel 0x{channelId:x2}, which is not registered");

    /// <summary>The fast path: the fragment fits (or is skipped); false when a budget is full.</summary>
    private bool TryReceiveFragment(in DecodedPacket packet)
    {
        var channel = ChannelFor(packet.ChannelId);
        var length = packet.Data.Length;
        channel.CheckCapacity(length);
        if (channel.IsDiscarding)
        {
            channel.Discard((int)length, packet.Eof);
            return true;
        }
        if (packet.Eof && !channel.HasPartial) return channel.TryDeliverSingle(packet.Data);
        if (!channel.TryAppend(packet.Data)) return false;
        return !packet.Eof || channel.TryCompleteReassembly() || CompletePending(channel);
    }

    /// <summary>The last fragment is appended but the lane was full: handled by the slow path as a completion.</summary>
    private bool CompletePending(MConnectionChannelState channel)
    {
        _completionPending = channel;
        return false;
    }

    private MConnectionChannelState? _completionPending;

    /// <summary>
    /// A budget is full: apply the channel's policy. DropNewest drops the message, DisconnectPeer fails the connection
    /// (blaming the peer), BackPressure pauses reading until the consumer makes room (bounded by the heartbeat).
    /// </summary>
    // Pooled: behind a slow consumer the receive loop pauses here again and again.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReceiveFragmentSlowAsync(byte channelId, ReadOnlySequence<byte> data, bool eof, CancellationToken token)
    {
        var channel = _byId[channelId]!;
        var completing = ReferenceEquals(_completionPending, channel);
        _completionPending = null;
        var paused = false;
        try
        {
            while (true)
            {
                switch (channel.Descriptor.FullMode)
                {
                    case ChannelFullMode.DropNewest:
                        var dropped = channel.PartialLength + (completing ? 0 : data.Length);
                        channel.DropCurrent(dropped, eof);
                        _hooks?.OnDropped?.Invoke(channelId, dropped);
                        Log.MessageDropped(_logger, channelId, dropped);
                        return;
                    case ChannelFullMode.DisconnectPeer when !_budget.PoolWasFull:
                        // (When the node-wide pool is what is full, other peers hold it: this one is not over its
                        // share, so it is paused like a back-pressure channel instead of being cut.)
                        throw new FlowControlException(FlowControlFault.PeerOverBudget, channelId,
                            $"the peer went over its inbound budget on channel 0x{channelId:x2} " +
                            $"({channel.Lane.Bytes} of {channel.Descriptor.RecvQueueBytes} bytes waiting for the channel's consumer, " +
                            $"{_budget.Used} of {_budget.Max} held for the connection)");
                }
                if (!completing && !(eof && !channel.HasPartial) && !_budget.PoolWasFull && LaneBytes() == 0)
                {
                    // Reassembly cannot grow and no consumer holds anything of ours to give back: only the peer's own
                    // unfinished messages (several large ones interleaved on different channels) fill the budget, so
                    // waiting would never end. That is the peer's doing.
                    throw new FlowControlException(FlowControlFault.PeerOverBudget, channelId,
                        $"the peer's unfinished messages need more than the connection's {_budget.Max} inbound bytes " +
                        $"({_budget.Inbound} held in reassembly across its channels, channel 0x{channelId:x2} needs more)");
                }
                if (!paused)
                {
                    _pausedOnPool = _budget.PoolWasFull;
                    // Publish the pause (with a full fence) before trying once more: bytes released between the failed
                    // attempt and this point are seen by the retry, bytes released after it wake the wait below.
                    paused = true;
                    Volatile.Write(ref _pausedChannel, channelId);
                    Interlocked.Exchange(ref _pausedSince, _time.GetTimestamp());
                    Interlocked.Increment(ref _readPauses);
                    Log.ReadPaused(_logger, channelId, channel.Lane.Bytes, _budget.Used);
                }
                else
                {
                    await _recvSpace.WaitAsync().ConfigureAwait(false);
                    token.ThrowIfCancellationRequested();
                }
                if (completing)
                {
                    if (channel.TryCompleteReassembly()) return;
                }
                else if (eof && !channel.HasPartial)
                {
                    if (channel.TryDeliverSingle(data)) return;
                }
                else if (channel.TryAppend(data))
                {
                    if (!eof || channel.TryCompleteReassembly()) return;
                    completing = true;
                }
            }
        }
        finally
        {
            if (paused)
            {
                Volatile.Write(ref _resumedAt, _time.GetTimestamp());
                Volatile.Write(ref _pausedSince, NoTimestamp);
                if (!IsClosed) Log.ReadResumed(_logger, channelId);
            }
        }
    }
}
