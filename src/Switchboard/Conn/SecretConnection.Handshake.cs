using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Switchboard.Crypto;
using Switchboard.Wire;
using Switchboard.Wire.Proto;

namespace Switchboard.Conn;

public sealed partial class SecretConnection
{
    /// <summary>35: <c>uvarint(34) ‖ 0a 20 ‖ eph_pub</c>, a delimited BytesValue holding the 32-byte key.</summary>
    internal const int EphemeralMessageSize = 35;

    // Both handshake messages arrive before the peer has proven anything, so each is capped at the largest body its
    // type can have here, checked on the length prefix before a byte of the body is read or allocated. CometBFT
    // reads up to 1 MiB for each (PROTOCOL.md 1.3); an honest peer sends 34 and 102 bytes, so the caps cost none.

    /// <summary>
    /// 34: the body of the ephemeral-key message, <c>0a 20 ‖ 32 bytes</c> — the only encoding of a BytesValue
    /// holding a 32-byte value that any protobuf encoder produces (field 1 is the message's only field, and a
    /// 32-byte length is one varint byte). Anything longer is not a 32-byte key and is refused as MessageTooLarge.
    /// </summary>
    internal const int MaxEphemeralMessageBodySize = 2 + Curve25519.KeySize;

    /// <summary>
    /// 103: the body of the largest AuthSigMessage we still answer with a typed reason. With an Ed25519 key it is
    /// exactly 102: <c>0a 22 (0a 20 ‖ 32-byte key)</c> = 36 plus <c>12 40 ‖ 64-byte signature</c> = 66 (field
    /// order may differ between encoders, the size may not). One byte more admits a secp256k1 key (33 bytes:
    /// <c>0a 23 (12 21 ‖ key)</c> = 37), the other key type of tendermint.crypto.PublicKey, so that such a peer is
    /// told AuthFailure "expected ed25519 pubkey", as CometBFT tells it, rather than MessageTooLarge. Larger keys
    /// (BLS, ML-DSA in later CometBFT schemas) can never authenticate a p2p connection and stop at the cap.
    /// </summary>
    internal const int MaxAuthSigMessageBodySize = 2 + (2 + 33) + (2 + Ed25519Signer.SignatureSize);

    private static ReadOnlySpan<byte> TranscriptLabel => "TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH"u8;
    private static ReadOnlySpan<byte> LowerKeyLabel => "EPHEMERAL_LOWER_PUBLIC_KEY"u8;
    private static ReadOnlySpan<byte> UpperKeyLabel => "EPHEMERAL_UPPER_PUBLIC_KEY"u8;
    private static ReadOnlySpan<byte> DhSecretLabel => "DH_SECRET"u8;
    private static ReadOnlySpan<byte> ChallengeLabel => "SECRET_CONNECTION_MAC"u8;
    private static ReadOnlySpan<byte> HkdfInfo => "TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN"u8;

    /// <summary>
    /// Runs the SecretConnection handshake on <paramref name="transport"/> (PROTOCOL.md 3.2): exchanges ephemeral
    /// X25519 keys, derives the session keys, and exchanges and verifies Ed25519 signatures of the transcript
    /// challenge inside the encrypted channel. Both sides send before they receive, so either may call this first.
    /// </summary>
    /// <param name="transport">the connected byte stream; the returned connection owns it, and it is disposed if the handshake fails.</param>
    /// <param name="localKey">our node key, which signs the challenge.</param>
    /// <param name="cancellationToken">cancels the handshake (use a token with a deadline: CometBFT allows 3 s); the transport is closed at once.</param>
    /// <returns>the connection, with the remote's authenticated key in <see cref="RemotePublicKey"/>.</returns>
    /// <exception cref="ProtocolViolationException">malformed, truncated, oversized or undecryptable handshake data, or a low-order ephemeral key.</exception>
    /// <exception cref="PeerRejectedException">with <see cref="RejectReason.AuthFailure"/>: not an Ed25519 key, or a bad signature;
    /// with <see cref="RejectReason.SmallOrderKey"/>: an Ed25519 key or a signature R of small order.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<SecretConnection> HandshakeAsync(Stream transport, NodeKey localKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(localKey);
        var ephemeral = new byte[Curve25519.KeySize];
        Curve25519.GeneratePrivateKey(ephemeral);
        return HandshakeCoreAsync(transport, localKey, ephemeral, cancellationToken);
    }

    /// <summary>The handshake with a given ephemeral X25519 private key, for deterministic test vectors.</summary>
    internal static Task<SecretConnection> HandshakeAsync(Stream transport, NodeKey localKey, ReadOnlySpan<byte> ephemeralPrivateKey,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(localKey);
        if (ephemeralPrivateKey.Length != Curve25519.KeySize)
            throw new ArgumentException("an X25519 private key is 32 bytes", nameof(ephemeralPrivateKey));
        return HandshakeCoreAsync(transport, localKey, ephemeralPrivateKey.ToArray(), cancellationToken);
    }

    private static async Task<SecretConnection> HandshakeCoreAsync(Stream transport, NodeKey localKey, byte[] ephemeralPrivate,
        CancellationToken cancellationToken)
    {
        // Closing the transport is the one way to abort a pending read on any stream, whether or not it honours tokens.
        var registration = cancellationToken.Register(static s => ((Stream)s!).Dispose(), transport);
        SecretConnection? connection = null;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Steps 1–2: send our ephemeral key and, concurrently, read the peer's.
            var ephemeralPublic = new byte[Curve25519.KeySize];
            Curve25519.PublicKey(ephemeralPrivate, ephemeralPublic);
            var hello = new byte[EphemeralMessageSize];
            hello[0] = EphemeralMessageSize - 1; // uvarint(34)
            hello[1] = 0x0A;                     // field 1 (value), wire type 2
            hello[2] = Curve25519.KeySize;       // 32 bytes
            ephemeralPublic.CopyTo(hello, 3);
            var remoteHello = await ExchangeAsync(transport,
                transport.WriteAsync(hello, cancellationToken),
                Delimited.ReadMessageAsync(transport, BytesValue.Parser, MaxEphemeralMessageBodySize, cancellationToken)).ConfigureAwait(false);
            // Go zero-pads or truncates to 32 bytes; honest peers always send exactly 32, so anything else is refused.
            if (remoteHello.Value.Length != Curve25519.KeySize)
                throw new ProtocolViolationException(ProtocolViolation.InvalidHandshake,
                    $"remote ephemeral key is {remoteHello.Value.Length} bytes; want {Curve25519.KeySize}");

            // Steps 3–9: transcript, DH, keys, challenge, ciphers.
            var challenge = new byte[32];
            Span<byte> secrets = stackalloc byte[3 * 32];
            try
            {
                var dh = secrets[..32];
                var recvKey = secrets.Slice(32, 32);
                var sendKey = secrets.Slice(64, 32);
                DeriveSecrets(ephemeralPrivate, ephemeralPublic, remoteHello.Value.Span, dh, recvKey, sendKey, challenge);
                connection = new SecretConnection(transport, sendKey, recvKey);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secrets);
            }

            // Steps 10–12: sign the challenge; swap AuthSigMessages through the encrypted channel; verify.
            var signature = new byte[Ed25519Signer.SignatureSize];
            localKey.Sign(challenge, signature);
            var authSig = Delimited.Encode(new AuthSigMessage
            {
                PubKey = new PublicKey { Ed25519 = ByteString.CopyFrom(localKey.PublicKey.Span) },
                Sig = ByteString.CopyFrom(signature),
            });
            var remoteAuth = await ExchangeAsync(connection,
                connection.WriteAsync(authSig, cancellationToken),
                Delimited.ReadMessageAsync(connection, AuthSigMessage.Parser, MaxAuthSigMessageBodySize, cancellationToken)).ConfigureAwait(false);
            connection.SetRemote(VerifyAuthSig(remoteAuth, challenge));
        }
        catch (Exception ex)
        {
            if (connection is not null)
                await connection.DisposeAsync().ConfigureAwait(false);
            else
                await transport.DisposeAsync().ConfigureAwait(false);
            await registration.DisposeAsync().ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
                throw new OperationCanceledException("the SecretConnection handshake was cancelled", ex, cancellationToken);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeralPrivate);
        }
        if (!registration.Unregister() && cancellationToken.IsCancellationRequested)
        {
            // Cancelled just as the handshake finished: the callback has closed (or is closing) the transport.
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new OperationCanceledException("the SecretConnection handshake was cancelled", cancellationToken);
        }
        return connection;
    }

    /// <summary>
    /// Awaits a read while a write runs concurrently. If the read fails, the channel is closed so the write ends
    /// too, and the write is awaited so no task outlives the handshake.
    /// </summary>
    private static async Task<T> ExchangeAsync<T>(Stream channel, ValueTask write, ValueTask<T> read)
    {
        var writing = write.AsTask();
        T result;
        try
        {
            result = await read.ConfigureAwait(false);
        }
        catch
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            try
            {
                await writing.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The read's error explains the failure; the write only failed because the channel closed.
            }
            throw;
        }
        await writing.ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Steps 3–8 of PROTOCOL.md 3.2: sorts the ephemeral keys, builds the Merlin transcript, computes the DH
    /// secret (rejecting an all-zero one), derives the direction keys with HKDF and squeezes the challenge.
    /// </summary>
    /// <returns>locIsLeast: whether our ephemeral key sorts first.</returns>
    internal static bool DeriveSecrets(ReadOnlySpan<byte> localPrivate, ReadOnlySpan<byte> localPublic, ReadOnlySpan<byte> remotePublic,
        Span<byte> dh, Span<byte> recvKey, Span<byte> sendKey, Span<byte> challenge)
    {
        // Equal keys make both sides "least"; the session then fails at the signature check, as in Go.
        var localIsLeast = localPublic.SequenceCompareTo(remotePublic) <= 0;
        var lo = localIsLeast ? localPublic : remotePublic;
        var hi = localIsLeast ? remotePublic : localPublic;

        using var transcript = new MerlinTranscript(TranscriptLabel);
        transcript.AppendMessage(LowerKeyLabel, lo);
        transcript.AppendMessage(UpperKeyLabel, hi);
        if (!Curve25519.TrySharedSecret(localPrivate, remotePublic, dh))
            throw new ProtocolViolationException(ProtocolViolation.InvalidHandshake,
                "remote ephemeral key is a low-order point (the shared secret is zero)");
        transcript.AppendMessage(DhSecretLabel, dh);
        DeriveKeys(dh, localIsLeast, recvKey, sendKey);
        transcript.ChallengeBytes(ChallengeLabel, challenge);
        return localIsLeast;
    }

    /// <summary>HKDF-SHA256(ikm = dh, no salt, info = "TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN"), 96 bytes.</summary>
    internal static void DeriveOkm(ReadOnlySpan<byte> dh, Span<byte> okm) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, dh, okm, salt: ReadOnlySpan<byte>.Empty, HkdfInfo);

    /// <summary>
    /// Splits the HKDF output into direction keys (PROTOCOL.md 3.2 step 7): the side whose ephemeral key sorts
    /// first receives with okm[0..32) and sends with okm[32..64); the other side the reverse. Keys come from the
    /// raw DH secret, not the transcript (tendermint/tendermint#4140).
    /// </summary>
    internal static void DeriveKeys(ReadOnlySpan<byte> dh, bool localIsLeast, Span<byte> recvKey, Span<byte> sendKey)
    {
        // 96: CometBFT derives 3×32 bytes; the last 32 were the pre-Merlin challenge and are unused.
        Span<byte> okm = stackalloc byte[96];
        try
        {
            DeriveOkm(dh, okm);
            okm[..32].CopyTo(localIsLeast ? recvKey : sendKey);
            okm[32..64].CopyTo(localIsLeast ? sendKey : recvKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(okm);
        }
    }

    /// <summary>Checks the peer's AuthSigMessage strictly and returns its Ed25519 public key.</summary>
    internal static byte[] VerifyAuthSig(AuthSigMessage message, ReadOnlySpan<byte> challenge)
    {
        if (message.PubKey is null)
            throw new ProtocolViolationException(ProtocolViolation.InvalidHandshake, "AuthSigMessage has no public key");
        if (message.PubKey.SumCase != PublicKey.SumOneofCase.Ed25519)
            throw new PeerRejectedException(RejectReason.AuthFailure,
                $"expected ed25519 pubkey, got {(message.PubKey.SumCase == PublicKey.SumOneofCase.None ? "an unknown or empty key" : message.PubKey.SumCase.ToString())}");
        var publicKey = message.PubKey.Ed25519;
        if (publicKey.Length != Ed25519Signer.PublicKeySize)
            throw new ProtocolViolationException(ProtocolViolation.InvalidHandshake,
                $"ed25519 public key is {publicKey.Length} bytes; want {Ed25519Signer.PublicKeySize}");
        if (message.Sig.Length != Ed25519Signer.SignatureSize)
            throw new ProtocolViolationException(ProtocolViolation.InvalidHandshake,
                $"signature is {message.Sig.Length} bytes; want {Ed25519Signer.SignatureSize}");
        // Stricter than CometBFT, whose ZIP-215 verification (v0.38+, curve25519-voi) accepts both: a key of small
        // order is satisfied by signatures anyone can make (the identity with R = identity, S = 0 for any challenge),
        // so it proves nobody's identity; an R of small order never comes from an honest signer. Checked before the
        // signature so the reason is this one. See Ed25519Signer.HasSmallOrder.
        if (Ed25519Signer.HasSmallOrder(publicKey.Span))
            throw new PeerRejectedException(RejectReason.SmallOrderKey,
                $"remote ed25519 public key {Convert.ToHexStringLower(publicKey.Span)} is a point of small order");
        if (Ed25519Signer.HasSmallOrder(message.Sig.Span[..Ed25519Signer.PublicKeySize]))
            throw new PeerRejectedException(RejectReason.SmallOrderKey, "the R of the remote's challenge signature is a point of small order");
        if (!Ed25519Signer.Verify(publicKey.Span, challenge, message.Sig.Span))
            throw new PeerRejectedException(RejectReason.AuthFailure, "challenge verification failed");
        return publicKey.ToByteArray();
    }
}
