using System.Buffers;

namespace Switchboard.Conn;

/// <summary>
/// Runtime state of one channel of an <see cref="MConnection"/>. The send queue is shared (any thread enqueues, the
/// send loop dequeues, under a lock); the fragment being sent is touched only by the send loop, the reassembly state
/// only by the receive loop; counters are read by GetStatus.
/// </summary>
internal sealed class MConnectionChannelState
{
    /// <summary>Reassembly buffers up to this size come from the shared array pool and are returned after each
    /// message; larger ones are plain arrays that are handed to the consumer or left to the GC (the pool would keep
    /// multi-MiB arrays alive long after a burst).</summary>
    private const int PooledReassemblyLimit = 64 * 1024;

    /// <summary>128: what a waiting message is charged at least. A tiny message still costs an array header and a queue
    /// entry (about 50 bytes besides its payload): charging only the payload would let a flood of empty or 1-byte
    /// messages queue millions of entries within a byte budget.</summary>
    internal const int MinMessageCharge = 128;

    private readonly Lock _sendGate = new();
    private readonly Queue<ReadOnlyMemory<byte>> _sendQueue = new();
    private readonly ConnectionBudget _budget;

    public MConnectionChannelState(ChannelDescriptor descriptor, ConnectionBudget budget)
    {
        Descriptor = descriptor;
        Id = descriptor.Id;
        Priority = descriptor.Priority;
        _budget = budget;
    }

    public ChannelDescriptor Descriptor { get; }
    public byte Id { get; }
    public int Priority { get; }

    /// <summary>Set by the connection before it starts.</summary>
    public InboundLane Lane { get; set; } = null!;

    // ---- send side ----
    private ReadOnlyMemory<byte> _sending;
    private int _sendOffset;
    private bool _hasSending;
    private bool _sendClosed;

    public long RecentlySent;
    public long BytesSent;
    public long MessagesSent;

    public int SendQueueCount { get { lock (_sendGate) return _sendQueue.Count; } }

    /// <summary>Any thread: queues a message if the channel's count limit (unless <paramref name="ignoreCount"/>) and the
    /// connection's byte budget allow.</summary>
    public bool TryEnqueueSend(ReadOnlyMemory<byte> message, bool ignoreCount = false)
    {
        lock (_sendGate)
        {
            if (_sendClosed || (!ignoreCount && _sendQueue.Count >= Descriptor.SendQueueCapacity)) return false;
            if (!_budget.TryChargeSend(message.Length)) return false;
            _sendQueue.Enqueue(message);
            return true;
        }
    }

    /// <summary>Refuses new messages (what is queued can still be sent).</summary>
    public void CloseSend()
    {
        lock (_sendGate) _sendClosed = true;
    }

    /// <summary>
    /// True if a message is being fragmented or one is queued — in which case it becomes the message being
    /// fragmented, as CometBFT's isSendPending does. <paramref name="dequeued"/> is set when a queue slot was freed.
    /// </summary>
    public bool IsSendPending(ref bool dequeued)
    {
        if (_hasSending) return true;
        lock (_sendGate)
        {
            if (!_sendQueue.TryDequeue(out _sending)) return false;
        }
        dequeued = true;
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
            var length = _sending.Length;
            _sending = default;
            _hasSending = false;
            Volatile.Write(ref MessagesSent, MessagesSent + 1);
            _budget.ReleaseSend(length);
        }
    }

    /// <summary>After the send loop stopped: drops what is queued or half sent and returns its bytes.</summary>
    public void ClearSend()
    {
        long bytes = 0;
        lock (_sendGate)
        {
            _sendClosed = true;
            while (_sendQueue.TryDequeue(out var m)) bytes += m.Length;
            if (_hasSending) bytes += _sending.Length;
            _sending = default;
            _hasSending = false;
        }
        _budget.ReleaseSend(bytes);
    }

    /// <summary>recentlySent := floor(recentlySent × 0.8) (PROTOCOL.md 2.3).</summary>
    public void DecayRecentlySent() => Volatile.Write(ref RecentlySent, (long)(RecentlySent * 0.8));

    // ---- receive side (receive loop only) ----
    private byte[]? _recvBuffer;
    private int _recvLength;
    private bool _recvPooled;
    private bool _discarding;
    private long _discardLength;
    /// <summary>Size of the last multi-packet message on this channel: the next reassembly starts there, so a stream
    /// of equal large messages costs one exact allocation each (handed to the consumer) instead of a doubling series
    /// plus a final copy. Only a number is kept between messages, never the buffer.</summary>
    private int _lastMessageLength;

    public long BytesReceived;
    public long MessagesReceived;
    public long MessagesDropped;
    public long BytesDropped;

    /// <summary>Bytes the reassembly buffer holds (charged to the connection budget).</summary>
    public int ReassemblyBytes => _recvBuffer?.Length ?? 0;

    /// <summary>True while the rest of a dropped multi-packet message is being skipped.</summary>
    public bool IsDiscarding => _discarding;

    /// <summary>Bytes of the multi-packet message reassembled so far.</summary>
    public int PartialLength => _recvLength;

    /// <summary>True when a multi-packet message is being reassembled.</summary>
    public bool HasPartial => _recvLength > 0;

    /// <summary>Throws when the message would exceed RecvMessageCapacity — before anything is copied or charged.</summary>
    public void CheckCapacity(long fragmentLength)
    {
        var current = _discarding ? _discardLength : _recvLength;
        if (current + fragmentLength > Descriptor.RecvMessageCapacity)
            throw new ProtocolViolationException(ProtocolViolation.ChannelCapacityExceeded,
                $"message on channel 0x{Id:x2} exceeds its capacity of {Descriptor.RecvMessageCapacity} bytes");
    }

    /// <summary>Skips a fragment of a dropped message (its size still counts against the capacity).</summary>
    public void Discard(int length, bool eof)
    {
        Volatile.Write(ref BytesReceived, BytesReceived + length);
        _discardLength += length;
        if (eof)
        {
            _discarding = false;
            _discardLength = 0;
        }
    }

    /// <summary>A single-packet message (no reassembly in progress): admits it into the lane if the lane and the
    /// connection budget have room. False when full (nothing changed).</summary>
    public bool TryDeliverSingle(in ReadOnlySequence<byte> data)
    {
        var length = (int)data.Length;
        var pooled = Descriptor.PooledDelivery && length > 0;
        // A pooled message is charged what the pool really hands out (its sizes are powers of two).
        var charge = Math.Max(pooled ? PoolSize(length) : length, MinMessageCharge);
        if (!Lane.HasRoom(charge) || !_budget.TryExchangeInbound(0, charge)) return false;
        Volatile.Write(ref BytesReceived, BytesReceived + length);
        if (pooled)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            data.CopyTo(buffer);
            Lane.Enqueue(buffer.AsMemory(0, length), charge, pooled: true);
        }
        else
        {
            Lane.Enqueue(length == 0 ? Array.Empty<byte>() : data.ToArray(), charge);
        }
        // Counted once queued, so an observer of the count finds the message there.
        Volatile.Write(ref MessagesReceived, MessagesReceived + 1);
        return true;
    }

    /// <summary>Appends a fragment of a multi-packet message, growing the reassembly buffer if the connection budget
    /// allows. False when it does not (nothing changed).</summary>
    public bool TryAppend(in ReadOnlySequence<byte> data)
    {
        var length = (int)data.Length;
        var needed = _recvLength + length;
        if (_recvBuffer is null || _recvBuffer.Length < needed)
        {
            // Start at the previous message's size (or RecvBufferCapacity), grow geometrically, never beyond the
            // channel's message capacity.
            var first = Math.Max(Descriptor.RecvBufferCapacity, _lastMessageLength);
            var size = Math.Max(_recvBuffer is null ? first : _recvBuffer.Length * 2, needed);
            size = Math.Min(size, Math.Max(needed, Descriptor.RecvMessageCapacity));
            // The old buffer is given back as the new one is taken: it is garbage (or back in the pool) right after
            // the copy, so the budget counts what we keep, not the moment both exist. When the generous size does not
            // fit the budget, the exact size may.
            if (!TryReserve(ref size))
            {
                if (size == needed) return false;
                size = needed;
                if (!TryReserve(ref size)) return false;
            }
            var pooled = size <= PooledReassemblyLimit || Descriptor.PooledDelivery;
            var next = pooled ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
            if (_recvBuffer is not null)
            {
                _recvBuffer.AsSpan(0, _recvLength).CopyTo(next);
                ReturnBuffer();
            }
            _recvBuffer = next;
            _recvPooled = pooled;
        }
        data.CopyTo(_recvBuffer.AsSpan(_recvLength));
        _recvLength = needed;
        Volatile.Write(ref BytesReceived, BytesReceived + length);
        return true;
    }

    /// <summary>Charges a reassembly buffer of <paramref name="size"/> bytes against the budget (pool sizes are powers
    /// of two, so a pooled size is rounded up to what the pool will really hand out).</summary>
    private bool TryReserve(ref int size)
    {
        var candidate = size;
        if (Descriptor.PooledDelivery)
            candidate = PoolSize(candidate);
        else if (candidate <= PooledReassemblyLimit)
            candidate = Math.Min(PooledReassemblyLimit, PoolSize(candidate));
        if (!_budget.TryExchangeInbound(ReassemblyBytes, candidate)) return false;
        size = candidate;
        return true;
    }

    /// <summary>What <see cref="ArrayPool{T}.Shared"/> hands out for a request of <paramref name="size"/> bytes (a power
    /// of two from 16; beyond the pool's largest size exactly what was asked).</summary>
    private static int PoolSize(int size) =>
        size > 1 << 30 ? size : Math.Max(16, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size));

    /// <summary>The last fragment was appended: admits the message into the lane, handing the reassembly buffer over
    /// when little of it is slack (always, on a pooled-delivery channel), else an exact copy. False when the lane is
    /// full (the message stays assembled).</summary>
    public bool TryCompleteReassembly()
    {
        var buffer = _recvBuffer!;
        var length = _recvLength;
        // A quarter of slack is kept rather than copying a large message once more.
        // (On a pooled-delivery channel the reassembly buffer is always a pooled one: it is handed over as it is.)
        var pooledDelivery = Descriptor.PooledDelivery;
        var handOver = pooledDelivery || (!_recvPooled && buffer.Length - length <= length / 4);
        var charge = handOver ? buffer.Length : length;
        if (!Lane.HasRoom(charge) || !_budget.TryExchangeInbound(buffer.Length, charge)) return false;
        ReadOnlyMemory<byte> message = handOver ? buffer.AsMemory(0, length) : ExactCopy(buffer.AsSpan(0, length));
        if (!handOver && _recvPooled) ArrayPool<byte>.Shared.Return(buffer);
        _recvBuffer = null;
        _recvLength = 0;
        _lastMessageLength = length;
        Lane.Enqueue(message, charge, pooledDelivery);
        Volatile.Write(ref MessagesReceived, MessagesReceived + 1);
        return true;
    }

    /// <summary>A copy of <paramref name="message"/> in a new array that is not zeroed first (every byte is written).</summary>
    private static byte[] ExactCopy(ReadOnlySpan<byte> message)
    {
        var copy = GC.AllocateUninitializedArray<byte>(message.Length);
        message.CopyTo(copy);
        return copy;
    }

    /// <summary>Drops the message being received (policy DropNewest): the reassembly memory is returned; unless
    /// <paramref name="eof"/> the rest of its fragments are skipped.</summary>
    public void DropCurrent(long bytes, bool eof)
    {
        Volatile.Write(ref MessagesDropped, MessagesDropped + 1);
        Volatile.Write(ref BytesDropped, BytesDropped + bytes);
        ReleaseReceiveBuffer();
        if (!eof)
        {
            _discarding = true;
            _discardLength = bytes;
        }
    }

    /// <summary>Returns the reassembly buffer and its budget (after each message, on a drop, at receive loop exit).</summary>
    public void ReleaseReceiveBuffer()
    {
        if (_recvBuffer is null) return;
        var size = _recvBuffer.Length;
        ReturnBuffer();
        _recvBuffer = null;
        _recvLength = 0;
        _budget.ReleaseInbound(size);
    }

    private void ReturnBuffer()
    {
        if (_recvPooled && _recvBuffer is not null) ArrayPool<byte>.Shared.Return(_recvBuffer);
    }

    public ChannelStatus GetStatus() => new(
        Id,
        Priority,
        Descriptor.SendQueueCapacity,
        SendQueueCount,
        Volatile.Read(ref RecentlySent),
        Volatile.Read(ref BytesSent),
        Volatile.Read(ref MessagesSent),
        Volatile.Read(ref BytesReceived),
        Volatile.Read(ref MessagesReceived))
    {
        MessagesDropped = Volatile.Read(ref MessagesDropped),
        BytesDropped = Volatile.Read(ref BytesDropped),
        RecvQueueBytes = Lane?.Bytes ?? 0,
        RecvQueueMessages = Lane?.Count ?? 0,
    };
}
