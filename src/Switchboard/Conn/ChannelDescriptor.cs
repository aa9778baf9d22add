namespace Switchboard.Conn;

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
    }
}
