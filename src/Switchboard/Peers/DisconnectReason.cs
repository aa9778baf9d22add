namespace Switchboard.Peers;

/// <summary>Why a peer went away.</summary>
public enum DisconnectKind
{
    /// <summary>The remote closed the connection or the network failed (EOF, reset).</summary>
    ConnectionLost,
    /// <summary>The remote broke the protocol (bad packet, bad message, pong timeout).</summary>
    ProtocolError,
    /// <summary>A reactor or the application stopped the peer for an error.</summary>
    StoppedForError,
    /// <summary>Stopped on purpose without blame (e.g. a seed that answered, or an explicit graceful stop).</summary>
    Graceful,
    /// <summary>The peer went over its inbound byte budget on a channel whose policy is
    /// <see cref="Conn.ChannelFullMode.DisconnectPeer"/>, or did not read the replies queued for it
    /// (<see cref="Envelope.Reply(ReadOnlyMemory{byte})"/>).</summary>
    SlowPeer,
    /// <summary>Another connection to the same peer was kept (simultaneous dial or reconnection).</summary>
    Duplicate,
    /// <summary>The switch is shutting down.</summary>
    Shutdown,
    /// <summary>One of our own consumers (the reactor or agent of a <see cref="Conn.ChannelFullMode.BackPressure"/>
    /// channel) kept the peer's reads paused for longer than <see cref="Conn.MConnectionOptions.MaxReadPause"/>.
    /// The fault is local: the peer did nothing wrong.</summary>
    LocalConsumerStalled,
    /// <summary>A write to the peer made no progress for <see cref="Conn.MConnectionOptions.WriteStallTimeout"/>.</summary>
    WriteStalled,
}

/// <summary>A peer's disconnect reason, with which side caused it.</summary>
/// <param name="Kind">The category.</param>
/// <param name="ByRemote">True when the cause lies with the remote or the network (it closed, broke the protocol,
/// stopped answering or reading, went over its budget); false when it lies with us (a local decision, shutdown, or a
/// local consumer too slow to keep up).</param>
/// <param name="Message">A human-readable explanation for logs.</param>
/// <param name="Error">The underlying error, if any.</param>
public sealed record DisconnectReason(DisconnectKind Kind, bool ByRemote, string Message, Exception? Error = null)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Kind} ({(ByRemote ? "remote" : "local")}): {Message}";

    internal static DisconnectReason FromConnectionError(Exception? error) => error switch
    {
        null => new(DisconnectKind.ConnectionLost, true, "connection closed"),
        FlowControlException { Fault: FlowControlFault.LocalConsumerStalled } f => new(DisconnectKind.LocalConsumerStalled, false, f.Message, f),
        FlowControlException { Fault: FlowControlFault.PeerOverBudget } f => new(DisconnectKind.SlowPeer, true, f.Message, f),
        FlowControlException { Fault: FlowControlFault.WriteStalled } f => new(DisconnectKind.WriteStalled, true, f.Message, f),
        ProtocolViolationException pv => new(DisconnectKind.ProtocolError, true, pv.Message, pv),
        P2PTimeoutException t => new(DisconnectKind.ProtocolError, true, t.Message, t),
        _ => new(DisconnectKind.ConnectionLost, true, error.Message, error),
    };
}
