using Switchboard.Crypto;
using Switchboard.Wire;

namespace Switchboard.Peers;

/// <summary>
/// The steps of a connection upgrade that follow the SecretConnection (PROTOCOL.md 4.2, 5.3): the dialed-ID
/// check, the NodeInfo exchange and the checks of the peer's NodeInfo, in CometBFT's order. The caller owns the
/// deadline (3 s in CometBFT for the exchange) and turns cancellation into its timeout error.
/// </summary>
/// <example>
/// Outbound, after <c>SecretConnection</c> authenticated <c>remoteId</c>:
/// <code>
/// Handshake.VerifyDialedId(dialed.Id, remoteId);
/// var theirs = await Handshake.ExchangeNodeInfoAsync(secret, ours, ct);
/// Handshake.VerifyPeer(theirs, remoteId, ours);
/// </code>
/// </example>
internal static class Handshake
{
    /// <summary>
    /// Writes our delimited NodeInfo while reading the peer's (at most <see cref="NodeInfo.MaxSize"/> bytes,
    /// checked before the body is read), as both ends do concurrently. Nothing of the peer's NodeInfo is checked
    /// here beyond its encoding. On failure the other half is cancelled and awaited, so no read or write is left
    /// pending on <paramref name="connection"/>.
    /// </summary>
    /// <exception cref="ProtocolViolationException">the peer's bytes are too long, truncated or not a NodeInfo.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (deadline).</exception>
    public static async Task<NodeInfo> ExchangeNodeInfoAsync(Stream connection, NodeInfo ours, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(ours);
        var encoded = ours.Encode();
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var write = WriteAsync(connection, encoded, both.Token);
        var read = ReadAsync(connection, both.Token);
        var first = await Task.WhenAny(write, read).ConfigureAwait(false);
        if (!first.IsCompletedSuccessfully)
        {
            // The first failure is the one reported; the other half only fails because we cancel it.
            await both.CancelAsync().ConfigureAwait(false);
            var other = ReferenceEquals(first, write) ? (Task)read : write;
            await other.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await first.ConfigureAwait(false);
        }
        await write.ConfigureAwait(false);
        return await read.ConfigureAwait(false);
    }

    private static async Task WriteAsync(Stream connection, byte[] encoded, CancellationToken cancellationToken)
    {
        await connection.WriteAsync(encoded, cancellationToken).ConfigureAwait(false);
        await connection.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<NodeInfo> ReadAsync(Stream connection, CancellationToken cancellationToken)
    {
        var body = await Delimited.ReadAsync(connection, NodeInfo.MaxSize, cancellationToken).ConfigureAwait(false);
        return NodeInfo.DecodeBody(body);
    }

    /// <summary>
    /// Outbound only, right after the SecretConnection: the key the peer authenticated with must be the one we
    /// meant to dial.
    /// </summary>
    /// <exception cref="PeerRejectedException"><see cref="RejectReason.AuthFailure"/>, "dialed ID mismatch".</exception>
    public static void VerifyDialedId(NodeId dialed, NodeId authenticated)
    {
        if (dialed != authenticated)
            throw new PeerRejectedException(RejectReason.AuthFailure,
                $"dialed ID mismatch: dialed {dialed}, the peer authenticated as {authenticated}");
    }

    /// <summary>
    /// The checks of a peer's NodeInfo in CometBFT's order: <see cref="NodeInfo.Validate"/> (InvalidNodeInfo); the
    /// authenticated ID equals the announced ID, compared as exact strings (AuthFailure); the peer is not us
    /// (Self); <see cref="NodeInfo.CompatibleWith"/> on our NodeInfo (Incompatible).
    /// </summary>
    /// <exception cref="PeerRejectedException">with the reason of the first check that failed.</exception>
    public static void VerifyPeer(NodeInfo theirs, NodeId authenticatedId, NodeInfo ours)
    {
        ArgumentNullException.ThrowIfNull(theirs);
        ArgumentNullException.ThrowIfNull(ours);
        theirs.Validate();
        if (!string.Equals(theirs.IdText, authenticatedId.Value, StringComparison.Ordinal))
            throw new PeerRejectedException(RejectReason.AuthFailure,
                $"the peer authenticated as {authenticatedId} but its NodeInfo says {theirs.IdText}");
        if (theirs.IdText == ours.IdText)
            throw new PeerRejectedException(RejectReason.Self, $"connected to ourselves ({ours.IdText})");
        ours.CompatibleWith(theirs);
    }
}
