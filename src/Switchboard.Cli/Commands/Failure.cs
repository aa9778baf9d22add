using System.Net.Sockets;

namespace Switchboard.Cli.Commands;

/// <summary>Why a dial, handshake or exchange failed, classified from the library's typed errors (for text and JSON).</summary>
/// <param name="Kind">rejected, timeout, protocol_violation, connection_refused, connection_lost, network, error or mismatch.</param>
/// <param name="Reason">The typed reason: <see cref="RejectReason"/>, <see cref="ProtocolViolation"/>, the socket error or the timed-out step.</param>
/// <param name="Message">The error's own message.</param>
internal sealed record Failure(string Kind, string? Reason, string Message)
{
    public static Failure From(Exception error) => error switch
    {
        PeerRejectedException r => new("rejected", r.Reason.ToString(), r.Message),
        P2PTimeoutException t => new("timeout", t.Operation, t.Message),
        ProtocolViolationException v => new("protocol_violation", v.Violation.ToString(), v.Message),
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } s => new("connection_refused", s.SocketErrorCode.ToString(), s.Message),
        SocketException s => new("network", s.SocketErrorCode.ToString(), s.Message),
        IOException { InnerException: SocketException s } io => new("connection_lost", s.SocketErrorCode.ToString(), io.Message),
        IOException io => new("connection_lost", null, io.Message),
        _ => new("error", error.GetType().Name, error.Message),
    };

    /// <summary>e.g. <c>rejected (AuthFailure): dialed ID mismatch: …</c>, <c>connection refused: …</c>.</summary>
    public override string ToString() =>
        $"{Kind.Replace('_', ' ')}{(Reason is null || Kind is "connection_refused" ? "" : $" ({Reason})")}: {Message}";
}
