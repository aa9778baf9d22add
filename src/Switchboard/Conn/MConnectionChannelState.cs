using System.Buffers;
using System.Threading.Channels;

namespace Switchboard.Conn;

/// <summary>
/// Runtime state of one channel of an <see cref="MConnection"/>. The send side is touched only by the send loop
/// (plus the thread-safe queue), the receive side only by the receive loop; counters are read by GetStatus.
/// </summary>
internal sealed class MConnectionChannelState
{
    public MConnectionChannelState(ChannelDescriptor descriptor)
    {
        Descriptor = descriptor;
        Id = descriptor.Id;
        Priority = descriptor.Priority;
        Queue = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(descriptor.SendQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ChannelDescriptor Descriptor { get; }
    public byte Id { get; }
    public int Priority { get; }
    public Channel<ReadOnlyMemory<byte>> Queue { get; }

    // ---- send side (send loop only) ----
    private ReadOnlyMemory<byte> _sending;
    private int _sendOffset;
    private bool _hasSending;

    public long RecentlySent;
    public long BytesSent;
    public long MessagesSent;

    /// <summary>
    /// True if a message is being fragmented or one is queued — in which case it becomes the message being
    /// fragmented, as CometBFT's isSendPending does.
    /// </summary>
    public bool IsSendPending()
    {
        if (_hasSending) return true;
        if (!Queue.Reader.TryRead(out _sending)) return false;
        _sendOffset = 0;
        _hasSending = true;
        return true;
    }

    /// <summary>Takes the next fragment of the message being sent; <paramref name="eof"/> marks the last one.</summary>
    public ReadOnlySpan<byte> NextFragment(int maxPayload, out bool eof)
    {
        var remaining = _sending.Length - _sendOffset;
        eof = remaining <= maxPayload;
        var take = eof ? remaining : maxPayload;
        return _sending.Span.Slice(_sendOffset, take);
    }

    /// <summary>Marks the fragment returned by <see cref="NextFragment"/> as written in a packet of <paramref name="packetBytes"/>.</summary>
    public void FragmentWritten(int fragmentLength, bool eof, int packetBytes)
    {
        _sendOffset += fragmentLength;
        RecentlySent += packetBytes;
        Volatile.Write(ref BytesSent, BytesSent + packetBytes);
        if (eof)
        {
            _sending = default;
            _hasSending = false;
            Volatile.Write(ref MessagesSent, MessagesSent + 1);
        }
    }

    /// <summary>recentlySent := floor(recentlySent × 0.8) (PROTOCOL.md 2.3).</summary>
    public void DecayRecentlySent() => Volatile.Write(ref RecentlySent, (long)(RecentlySent * 0.8));

    // ---- receive side (receive loop only) ----
    private byte[]? _recvBuffer;
    private int _recvLength;

    public long BytesReceived;
    public long MessagesReceived;

    /// <summary>
    /// Appends a fragment; returns the complete message on <paramref name="eof"/> (a new exact-size array the
    /// handler will own), else null. Throws when the message would exceed RecvMessageCapacity — before copying.
    /// </summary>
    public byte[]? Receive(in ReadOnlySequence<byte> data, bool eof)
    {
        var length = (int)data.Length;
        if ((long)_recvLength + length > Descriptor.RecvMessageCapacity)
            throw new ProtocolViolationException(ProtocolViolation.ChannelCapacityExceeded,
                $"message on channel 0x{Id:x2} exceeds its capacity of {Descriptor.RecvMessageCapacity} bytes");
        Volatile.Write(ref BytesReceived, BytesReceived + length);
        if (eof && _recvLength == 0)
        {
            // Single-packet message: copy straight from the input, no reassembly buffer.
            Volatile.Write(ref MessagesReceived, MessagesReceived + 1);
            return length == 0 ? [] : data.ToArray();
        }
        EnsureRecvCapacity(_recvLength + length);
        data.CopyTo(_recvBuffer.AsSpan(_recvLength));
        _recvLength += length;
        if (!eof) return null;
        var message = _recvBuffer.AsSpan(0, _recvLength).ToArray();
        _recvLength = 0;
        Volatile.Write(ref MessagesReceived, MessagesReceived + 1);
        return message;
    }

    private void EnsureRecvCapacity(int needed)
    {
        if (_recvBuffer is not null && _recvBuffer.Length >= needed) return;
        // Grow geometrically from RecvBufferCapacity, never beyond what the capacity check allows.
        var size = Math.Max(_recvBuffer?.Length * 2 ?? Descriptor.RecvBufferCapacity, needed);
        size = Math.Min(size, Math.Max(needed, Descriptor.RecvMessageCapacity));
        var next = ArrayPool<byte>.Shared.Rent(size);
        if (_recvBuffer is not null)
        {
            _recvBuffer.AsSpan(0, _recvLength).CopyTo(next);
            ArrayPool<byte>.Shared.Return(_recvBuffer);
        }
        _recvBuffer = next;
    }

    /// <summary>Returns the pooled reassembly buffer (receive loop exit).</summary>
    public void ReleaseReceiveBuffer()
    {
        if (_recvBuffer is null) return;
        ArrayPool<byte>.Shared.Return(_recvBuffer);
        _recvBuffer = null;
        _recvLength = 0;
    }

    public ChannelStatus GetStatus() => new(
        Id,
        Priority,
        Descriptor.SendQueueCapacity,
        Queue.Reader.Count,
        Volatile.Read(ref RecentlySent),
        Volatile.Read(ref BytesSent),
        Volatile.Read(ref MessagesSent),
        Volatile.Read(ref BytesReceived),
        Volatile.Read(ref MessagesReceived));
}
