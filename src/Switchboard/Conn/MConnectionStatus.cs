namespace Switchboard.Conn;

/// <summary>A snapshot of an <see cref="MConnection"/>'s counters (CometBFT's <c>ConnectionStatus</c>).</summary>
/// <param name="Duration">Time since <see cref="MConnection.Start"/>.</param>
/// <param name="BytesSent">Bytes written to the transport (packets with their prefixes).</param>
/// <param name="BytesReceived">Bytes of complete packets read from the transport.</param>
/// <param name="PacketsSent">Packets of every kind written.</param>
/// <param name="PacketsReceived">Packets of every kind read.</param>
/// <param name="Channels">One entry per channel, in registration order.</param>
public sealed record MConnectionStatus(
    TimeSpan Duration,
    long BytesSent,
    long BytesReceived,
    long PacketsSent,
    long PacketsReceived,
    IReadOnlyList<ChannelStatus> Channels)
{
    /// <summary>Bytes this connection holds now: inbound messages waiting for consumers, reassembly buffers and send
    /// queues (bounded by <see cref="MConnectionOptions.MaxBufferedBytes"/> + <see cref="MConnectionOptions.MaxSendBufferedBytes"/>).</summary>
    public long BufferedBytes { get; init; }

    /// <summary>The inbound part of <see cref="BufferedBytes"/> (waiting messages and reassembly).</summary>
    public long BufferedInboundBytes { get; init; }

    /// <summary>The send-queue part of <see cref="BufferedBytes"/> (pending send bytes).</summary>
    public long BufferedSendBytes { get; init; }

    /// <summary>Highest <see cref="BufferedBytes"/> since the start.</summary>
    public long PeakBufferedBytes { get; init; }

    /// <summary>True while reading is paused by a full back-pressure channel.</summary>
    public bool ReadPaused { get; init; }

    /// <summary>Times reading was paused by a full back-pressure channel.</summary>
    public long ReadPauses { get; init; }
}

/// <summary>Per-channel counters.</summary>
/// <param name="Id">Channel byte.</param>
/// <param name="Priority">Configured priority.</param>
/// <param name="SendQueueCapacity">Configured send queue capacity.</param>
/// <param name="SendQueueSize">Messages waiting in the send queue now (the one being fragmented not included).</param>
/// <param name="RecentlySent">Decaying byte counter used by the channel selection rule (PROTOCOL.md 2.3).</param>
/// <param name="BytesSent">Bytes of msg packets written for this channel (whole packets, prefixes included).</param>
/// <param name="MessagesSent">Messages whose last fragment was written.</param>
/// <param name="BytesReceived">Payload bytes received on this channel.</param>
/// <param name="MessagesReceived">Complete messages reassembled on this channel.</param>
public sealed record ChannelStatus(
    byte Id,
    int Priority,
    int SendQueueCapacity,
    int SendQueueSize,
    long RecentlySent,
    long BytesSent,
    long MessagesSent,
    long BytesReceived,
    long MessagesReceived)
{
    /// <summary>Complete (or partly received) messages dropped because the budget was full under
    /// <see cref="ChannelFullMode.DropNewest"/>.</summary>
    public long MessagesDropped { get; init; }

    /// <summary>Bytes of the dropped messages (as far as they had arrived).</summary>
    public long BytesDropped { get; init; }

    /// <summary>Bytes of complete messages waiting for the channel's consumer.</summary>
    public long RecvQueueBytes { get; init; }

    /// <summary>Complete messages waiting for the channel's consumer.</summary>
    public int RecvQueueMessages { get; init; }
}
