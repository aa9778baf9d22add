using System.Buffers;
using Switchboard.Wire;

namespace Switchboard.Conn;

public sealed partial class MConnection
{
    /// <summary>Times the receive loop paused for the receive-rate limiter (tests step the clock on it).</summary>
    internal long RecvRateWaits;

    /// <summary>
    /// The receive loop: decodes packets from the pipe (no copy), answers pings through the send loop, reassembles
    /// fragments per channel and queues complete messages for the dispatch loop. When the inbound queue is full it
    /// waits for room, which stops reading from the peer (back-pressure). Any error is fatal and reported once.
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
                    var message = HandlePacket(in packet);
                    // Counted once handled, so an observer of the count also sees the packet's effect.
                    Volatile.Write(ref _bytesReceived, _bytesReceived + packetBytes);
                    Volatile.Write(ref _packetsReceived, _packetsReceived + 1);
                    if (message.Data is not null && !_inbound.Writer.TryWrite(message))
                    {
                        // Inbound queue full: wait for the handler (the pipe buffer stays valid until AdvanceTo).
                        await _inbound.Writer.WriteAsync(message, token).ConfigureAwait(false);
                    }
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
            foreach (var channel in _channels) channel.ReleaseReceiveBuffer();
        }
    }

    /// <summary>Acts on one packet (PROTOCOL.md 1.5); returns a complete message to deliver, or default.</summary>
    private InboundMessage HandlePacket(in DecodedPacket packet)
    {
        switch (packet.Kind)
        {
            case PacketKind.Ping:
                OnPingReceived();
                return default;
            case PacketKind.Pong:
                OnPongReceived();
                return default;
            default:
                var channel = _byId[packet.ChannelId]
                    ?? throw new ProtocolViolationException(ProtocolViolation.UnknownChannel,
                        $"packet for channel 0x{packet.ChannelId:x2}, which is not registered");
                var message = channel.Receive(packet.Data, packet.Eof);
                return message is null ? default : new InboundMessage(channel.Id, message);
        }
    }
}
