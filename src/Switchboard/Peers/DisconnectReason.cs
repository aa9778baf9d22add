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
    /// <summary>The peer's inbound queue overflowed under the disconnect-as-slow policy.</summary>
    SlowPeer,
    /// <summary>Another connection to the same peer was kept (simultaneous dial or reconnection).</summary>
    Duplicate,
    /// <summary>The switch is shutting down.</summary>
    Shutdown,
}

/// <summary>A peer's disconnect reason, with which side caused it.</summary>
/// <param name="Kind">The category.</param>
/// <param name="ByRemote">True when the remote (or the network) ended the connection, false when we did.</param>
/// <param name="Message">A human-readable explanation for logs.</param>
/// <param name="Error">The underlying error, if any.</param>
public sealed record DisconnectReason(DisconnectKind Kind, bool ByRemote, string Message, Exception? Error = null)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Kind} ({(ByRemote ? "remote" : "local")}): {Message}";

    internal static DisconnectReason FromConnectionError(Exception? error) => error switch
    {
        null => new(DisconnectKind.ConnectionLost, true, "connection closed"),
        ProtocolViolationException pv => new(DisconnectKind.ProtocolError, true, pv.Message, pv),
        P2PTimeoutException t => new(DisconnectKind.ProtocolError, true, t.Message, t),
        _ => new(DisconnectKind.ConnectionLost, true, error.Message, error),
    };
}
