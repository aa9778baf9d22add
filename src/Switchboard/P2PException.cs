namespace Switchboard;

/// <summary>Base type of every error Switchboard raises about a peer, a connection or the wire.</summary>
/// <remarks>Shaped after <c>QuicException</c>: catch this type and switch on the subtype's reason enum.</remarks>
public class P2PException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public P2PException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public P2PException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>What a remote did wrong on the wire. Every value is fatal for that one connection.</summary>
public enum ProtocolViolation
{
    /// <summary>A varint longer than 10 bytes or overflowing 64 bits, or a bad go-wire size byte.</summary>
    MalformedVarint,
    /// <summary>A length prefix or frame length larger than the limit for that message.</summary>
    MessageTooLarge,
    /// <summary>Bytes that do not decode as the expected protobuf (or legacy) message.</summary>
    MalformedMessage,
    /// <summary>A packet with no oneof arm set, or an unknown legacy packet-type byte.</summary>
    UnknownMessageType,
    /// <summary>A PacketMsg for a channel id that is negative, above 255, or not registered here.</summary>
    UnknownChannel,
    /// <summary>A reassembled message would exceed the channel's RecvMessageCapacity.</summary>
    ChannelCapacityExceeded,
    /// <summary>The stream ended in the middle of a message or frame.</summary>
    Truncated,
    /// <summary>An AEAD frame failed to authenticate (tampering, wrong key or nonce).</summary>
    DecryptionFailed,
    /// <summary>A decrypted frame declared a data length above 1024.</summary>
    InvalidFrame,
    /// <summary>The 64-bit frame nonce counter would wrap.</summary>
    NonceExhausted,
    /// <summary>The remote did not answer a ping within the pong timeout.</summary>
    PongTimeout,
    /// <summary>A handshake message was missing, had the wrong shape or an invalid key or signature.</summary>
    InvalidHandshake,
    /// <summary>A message on a channel did not decode as that channel's message type (reactor level).</summary>
    InvalidChannelMessage,
}

/// <summary>The remote violated the wire protocol; the connection is closed.</summary>
public sealed class ProtocolViolationException : P2PException
{
    /// <summary>Creates the exception.</summary>
    public ProtocolViolationException(ProtocolViolation violation, string message, Exception? innerException = null)
        : base(message, innerException) => Violation = violation;

    /// <summary>What went wrong.</summary>
    public ProtocolViolation Violation { get; }
}

/// <summary>Why a connection was refused during or right after the handshake (CometBFT's <c>ErrRejected</c>).</summary>
public enum RejectReason
{
    /// <summary>The secret-connection authentication failed, or the authenticated ID did not match.</summary>
    AuthFailure,
    /// <summary>We are already connected to (or dialing) this peer or address.</summary>
    Duplicate,
    /// <summary>A connection or peer filter refused it.</summary>
    Filtered,
    /// <summary>NodeInfo is not compatible with ours (block version, network, no common channel).</summary>
    Incompatible,
    /// <summary>The remote NodeInfo failed validation.</summary>
    InvalidNodeInfo,
    /// <summary>The remote is ourselves.</summary>
    Self,
    /// <summary>A limit (inbound, outbound) was reached.</summary>
    LimitReached,
    /// <summary>
    /// The remote's Ed25519 public key, or the R point of its handshake signature, is a point of small order (one
    /// of the 8 points of order 1, 2, 4 or 8, in any encoding). Such a key is "signed for" without any private key,
    /// so it authenticates nobody; CometBFT's ZIP-215 verification accepts it, Switchboard refuses it.
    /// </summary>
    SmallOrderKey,
}

/// <summary>A connection or peer was refused; it carries the <see cref="RejectReason"/>.</summary>
public sealed class PeerRejectedException : P2PException
{
    /// <summary>Creates the exception.</summary>
    public PeerRejectedException(RejectReason reason, string message, Exception? innerException = null)
        : base(message, innerException) => Reason = reason;

    /// <summary>Why it was refused.</summary>
    public RejectReason Reason { get; }
}

/// <summary>A step (dial, handshake, filter, send) did not finish within its configured time.</summary>
public sealed class P2PTimeoutException : P2PException
{
    /// <summary>Creates the exception.</summary>
    public P2PTimeoutException(string operation, TimeSpan timeout, Exception? innerException = null)
        : base($"{operation} timed out after {timeout.TotalMilliseconds:0} ms", innerException)
    {
        Operation = operation;
        Timeout = timeout;
    }

    /// <summary>The step that timed out.</summary>
    public string Operation { get; }

    /// <summary>The limit that was exceeded.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>Why flow control ended a connection (<see cref="FlowControlException.Fault"/>).</summary>
public enum FlowControlFault
{
    /// <summary>Our consumer of a back-pressure channel did not take messages for
    /// <see cref="Conn.MConnectionOptions.MaxReadPause"/>: the fault is local, the peer did nothing wrong.</summary>
    LocalConsumerStalled,
    /// <summary>The peer went over its byte budget on a channel whose policy is
    /// <see cref="Conn.ChannelFullMode.DisconnectPeer"/>.</summary>
    PeerOverBudget,
    /// <summary>A write to the peer made no progress for <see cref="Conn.MConnectionOptions.WriteStallTimeout"/>:
    /// the peer (or the network) stopped reading.</summary>
    WriteStalled,
}

/// <summary>A connection was closed by flow control: a stalled local consumer, a peer over its budget, or a write
/// that made no progress. <see cref="IsLocalFault"/> says which side is to blame.</summary>
public sealed class FlowControlException : P2PException
{
    /// <summary>Creates the exception.</summary>
    public FlowControlException(FlowControlFault fault, byte? channelId, string message) : base(message)
    {
        Fault = fault;
        ChannelId = channelId;
    }

    /// <summary>What happened.</summary>
    public FlowControlFault Fault { get; }

    /// <summary>The channel concerned, when there is one.</summary>
    public byte? ChannelId { get; }

    /// <summary>True when the cause is on our side (a slow local consumer), not the peer's.</summary>
    public bool IsLocalFault => Fault == FlowControlFault.LocalConsumerStalled;
}
