namespace Switchboard.Conn;

/// <summary>
/// What happens when a channel's inbound budget is full (PROTOCOL.md 2.7 leaves this to the implementation; CometBFT
/// always blocks the whole connection). Chosen per channel by its owner. Per-peer order on the channel is kept in
/// every mode.
/// </summary>
public enum ChannelFullMode
{
    /// <summary>
    /// Stop reading that one peer's connection until the channel's consumer makes room (TCP back-pressure). While
    /// paused we do not blame the peer for late pongs; after <see cref="MConnectionOptions.MaxReadPause"/> the peer is
    /// disconnected with <see cref="Peers.DisconnectKind.LocalConsumerStalled"/> (the fault is ours). Loses nothing;
    /// costs that peer's other channels while paused. Right for channels whose every message matters.
    /// </summary>
    BackPressure,
    /// <summary>Drop the newest message (counted per channel and peer, in metrics and events) and keep reading. Right
    /// for gossip, where the message will come again from another peer.</summary>
    DropNewest,
    /// <summary>Disconnect the peer that went over its budget (<see cref="Peers.DisconnectKind.SlowPeer"/>) — never
    /// another one. Messages it sent before are still delivered. Right for request/response channels.</summary>
    DisconnectPeer,
}

/// <summary>
/// One channel of an MConnection (CometBFT's <c>ChannelDescriptor</c>, PROTOCOL.md 2.4). As in CometBFT, a capacity
/// set to 0 means "the default".
/// </summary>
/// <param name="Id">Channel byte; unique on a connection (and across reactors at the Switch).</param>
/// <param name="Priority">Share of the send bandwidth relative to other channels; must be above 0.</param>
public sealed record ChannelDescriptor(byte Id, int Priority)
{
    /// <summary>1: CometBFT's defaultSendQueueCapacity.</summary>
    public const int DefaultSendQueueCapacity = 1;

    /// <summary>4096: CometBFT's defaultRecvBufferCapacity (initial reassembly allocation only).</summary>
    public const int DefaultRecvBufferCapacity = 4096;

    /// <summary>22,020,096 (21 MiB): CometBFT's defaultRecvMessageCapacity.</summary>
    public const int DefaultRecvMessageCapacity = 22_020_096;

    private readonly int _sendQueueCapacity = DefaultSendQueueCapacity;
    private readonly int _recvBufferCapacity = DefaultRecvBufferCapacity;
    private readonly int _recvMessageCapacity = DefaultRecvMessageCapacity;

    /// <summary>Messages that may wait in the send queue besides the one being sent. Default 1; 0 → default.</summary>
    public int SendQueueCapacity
    {
        get => _sendQueueCapacity;
        init => _sendQueueCapacity = value == 0 ? DefaultSendQueueCapacity : value;
    }

    /// <summary>Initial size of the reassembly buffer in bytes (it grows up to <see cref="RecvMessageCapacity"/>).
    /// Default 4096; 0 → default.</summary>
    public int RecvBufferCapacity
    {
        get => _recvBufferCapacity;
        init => _recvBufferCapacity = value == 0 ? DefaultRecvBufferCapacity : value;
    }

    /// <summary>Largest reassembled message accepted on this channel; a peer exceeding it is disconnected.
    /// Default 22,020,096; 0 → default.</summary>
    public int RecvMessageCapacity
    {
        get => _recvMessageCapacity;
        init => _recvMessageCapacity = value == 0 ? DefaultRecvMessageCapacity : value;
    }

    private readonly int _recvQueueBytes;

    /// <summary>
    /// Bytes of complete messages from one peer that may wait for this channel's consumer (the per-(peer, channel)
    /// inbound budget); past it <see cref="FullMode"/> applies. Default (0): <see cref="RecvMessageCapacity"/>, so one
    /// message of the largest allowed size always fits. Must be at least <see cref="RecvMessageCapacity"/>.
    /// </summary>
    public int RecvQueueBytes
    {
        get => _recvQueueBytes == 0 ? RecvMessageCapacity : _recvQueueBytes;
        init => _recvQueueBytes = value;
    }

    /// <summary>Policy when a peer's inbound budget on this channel (or its connection's) is full. Default
    /// <see cref="ChannelFullMode.BackPressure"/> (CometBFT's behaviour, bounded in time).</summary>
    public ChannelFullMode FullMode { get; init; } = ChannelFullMode.BackPressure;

    /// <summary>
    /// Deliver this channel's messages in buffers rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/> instead
    /// of a new array each (no allocation per message, no large-object-heap churn for big ones). Default false. A
    /// pooled message is valid only until its consumer moves on, and is then reused for other data: for a
    /// <see cref="Reactor"/> until its <c>ReceiveAsync</c> completes, for an <see cref="AgentChannel"/> until the next
    /// read (<c>ReadAsync</c>, <c>TryRead</c>, the next item of <c>ReadAllAsync</c>), for an
    /// <see cref="IMConnectionHandler"/> until its <c>OnMessageAsync</c> completes. Copy whatever is kept longer,
    /// including memory handed to a send (sends do not copy). A Switchboard extension; CometBFT has no equivalent.
    /// </summary>
    public bool PooledDelivery { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (Priority <= 0)
            throw new ArgumentException($"channel 0x{Id:x2}: Priority must be above 0 (got {Priority})");
        if (SendQueueCapacity < 0)
            throw new ArgumentException($"channel 0x{Id:x2}: SendQueueCapacity must not be negative");
        if (RecvBufferCapacity < 0)
            throw new ArgumentException($"channel 0x{Id:x2}: RecvBufferCapacity must not be negative");
        if (RecvMessageCapacity < 0)
            throw new ArgumentException($"channel 0x{Id:x2}: RecvMessageCapacity must not be negative");
        if (_recvQueueBytes < 0 || (_recvQueueBytes != 0 && _recvQueueBytes < RecvMessageCapacity))
            throw new ArgumentException($"channel 0x{Id:x2}: RecvQueueBytes ({_recvQueueBytes}) must hold one message of RecvMessageCapacity ({RecvMessageCapacity}) bytes");
        if (!Enum.IsDefined(FullMode))
            throw new ArgumentException($"channel 0x{Id:x2}: unknown FullMode {FullMode}");
    }
}
