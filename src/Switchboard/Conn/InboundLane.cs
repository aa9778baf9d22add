namespace Switchboard.Conn;

/// <summary>Takes lanes that have messages and delivers them (a reactor's fair queue, or a standalone connection's
/// per-channel dispatcher).</summary>
internal interface IInboundScheduler
{
    /// <summary>The lane went from empty to non-empty. Called on the receive loop: must not block.</summary>
    void Schedule(InboundLane lane);
}

/// <summary>
/// The complete messages of one (connection, channel) waiting for its consumer — the per-(peer, channel) inbound
/// budget of <see cref="ChannelDescriptor.RecvQueueBytes"/>. The receive loop is the only producer; consumers take
/// messages through the scheduler. A lane is handed to its scheduler once when it becomes non-empty and stays
/// "scheduled" until a consumer finds it empty, so a scheduler that re-queues a lane after each message serves every
/// lane in turn.
/// </summary>
internal sealed class InboundLane
{
    private readonly Lock _gate = new();
    private readonly Queue<(ReadOnlyMemory<byte> Message, int Charge, bool Pooled)> _messages = new();
    private readonly ConnectionBudget _budget;
    private long _bytes;
    private bool _scheduled;

    public InboundLane(ChannelDescriptor descriptor, ConnectionBudget budget, IInboundScheduler scheduler)
    {
        Descriptor = descriptor;
        ChannelId = descriptor.Id;
        _budget = budget;
        Scheduler = scheduler;
    }

    public ChannelDescriptor Descriptor { get; }

    public byte ChannelId { get; }

    public IInboundScheduler Scheduler { get; }

    /// <summary>What consumers see as the message source (the Switch's peer); null for a standalone connection.</summary>
    public object? Owner { get; set; }

    /// <summary>Bytes charged for the messages waiting.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    public int Count { get { lock (_gate) return _messages.Count; } }

    /// <summary>Receive loop: true if <paramref name="charge"/> more bytes fit (only the receive loop adds, so the
    /// answer cannot become false before its <see cref="Enqueue"/>).</summary>
    public bool HasRoom(long charge) => Volatile.Read(ref _bytes) + charge <= Descriptor.RecvQueueBytes;

    /// <summary>Receive loop: appends a message whose <paramref name="charge"/> bytes the connection budget already
    /// holds; <paramref name="pooled"/>: its array is from the shared pool (see <see cref="ChannelDescriptor.PooledDelivery"/>)
    /// and goes back there once consumed (<see cref="ReturnPooled"/>) or dropped.</summary>
    public void Enqueue(ReadOnlyMemory<byte> message, int charge, bool pooled = false)
    {
        bool schedule;
        lock (_gate)
        {
            _messages.Enqueue((message, charge, pooled));
            Volatile.Write(ref _bytes, _bytes + charge);
            schedule = !_scheduled;
            _scheduled = true;
        }
        if (schedule) Scheduler.Schedule(this);
    }

    /// <summary>Consumer: takes the oldest message; <paramref name="more"/> says whether the lane stays scheduled
    /// (the caller must then give it another turn). False when empty (the lane is no longer scheduled).</summary>
    /// <remarks><paramref name="pooled"/>: the consumer must <see cref="ReturnPooled"/> the message when done.</remarks>
    public bool TryDequeue(out ReadOnlyMemory<byte> message, out bool more, out bool pooled)
    {
        int charge;
        lock (_gate)
        {
            if (!_messages.TryDequeue(out var item))
            {
                _scheduled = false;
                message = default;
                more = false;
                pooled = false;
                return false;
            }
            message = item.Message;
            pooled = item.Pooled;
            charge = item.Charge;
            Volatile.Write(ref _bytes, _bytes - charge);
            more = _messages.Count > 0;
            if (!more) _scheduled = false;
        }
        _budget.ReleaseInbound(charge);
        return true;
    }

    /// <summary>Gives a pooled message's array back to the shared pool (its consumer is done with it).</summary>
    public static void ReturnPooled(ReadOnlyMemory<byte> message)
    {
        if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(message, out var segment) && segment.Array is { Length: > 0 } array)
            System.Buffers.ArrayPool<byte>.Shared.Return(array);
    }

    /// <summary>Drops every waiting message and returns its bytes (a local close); returns how many were dropped.</summary>
    public int Clear()
    {
        long bytes = 0;
        int count;
        lock (_gate)
        {
            count = _messages.Count;
            while (_messages.TryDequeue(out var item))
            {
                bytes += item.Charge;
                if (item.Pooled) ReturnPooled(item.Message);
            }
            Volatile.Write(ref _bytes, 0);
        }
        _budget.ReleaseInbound(bytes);
        return count;
    }
}
