using System.Buffers.Binary;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Fuzz;

/// <summary>
/// The whole inbound upgrade as the responder runs it: SecretConnection handshake, then the NodeInfo exchange and
/// VerifyPeer. Our side is A of TestData/vectors/secret_connection_transcript.json (Ed25519 seed 00..1f, ephemeral
/// X25519 key 40..5f); the remote is whatever the input says.
/// </summary>
/// <remarks>
/// Byte 0 picks the mode. Even: the rest is the raw TCP stream of the remote, as is. Odd: the harness plays B's
/// ephemeral key (60..7f) itself, so the session keys are known, and the rest is a list of frames that it seals
/// with B's send key: each is <c>u16 LE declared length ‖ u8 n ‖ n bytes of data</c>, put in a 1028-byte frame
/// whose length field is the declared length (0xffff stands for 0xffffffff). That way the fuzzer reaches the
/// AuthSig, NodeInfo and frame-length checks behind the AEAD, which random bytes never authenticate through.
/// </remarks>
internal static class HandshakeTarget
{
    private static readonly NodeKey Local = NodeKey.FromSeed(Fixed.Seq(0x00, 32));
    private static readonly byte[] LocalEphemeral = Fixed.Seq(0x40, 32);

    /// <summary>B's key (seed 20..3f): the only key whose signature of the fixed challenge the seeds carry.</summary>
    internal static readonly NodeKey Remote = NodeKey.FromSeed(Fixed.Seq(0x20, 32));

    /// <summary>B's ephemeral hello: <c>22 0a 20 ‖ X25519(60..7f)</c>.</summary>
    internal static readonly byte[] RemoteHello;

    /// <summary>The key B seals its frames with (our receive key).</summary>
    private static readonly byte[] RemoteSendKey = new byte[32];

    /// <summary>The challenge both sides sign.</summary>
    internal static readonly byte[] Challenge = new byte[32];

    static HandshakeTarget()
    {
        var remotePrivate = Fixed.Seq(0x60, 32);
        var remotePublic = new byte[32];
        Curve25519.PublicKey(remotePrivate, remotePublic);
        var localPublic = new byte[32];
        Curve25519.PublicKey(LocalEphemeral, localPublic);
        RemoteHello = [0x22, 0x0a, 0x20, .. remotePublic];
        var dh = new byte[32];
        var remoteRecv = new byte[32];
        SecretConnection.DeriveSecrets(remotePrivate, remotePublic, localPublic, dh, remoteRecv, RemoteSendKey, Challenge);
    }

    public static readonly FuzzTarget Target = new(
        "handshake",
        "the responder's SecretConnection handshake, NodeInfo exchange and VerifyPeer (byte 0 even: raw stream; odd: frames sealed by the harness)",
        Body,
        ex => ex is ProtocolViolationException or PeerRejectedException,
        FuzzTargets.Linear(1024 * 1024, 128));

    /// <summary>The transport bytes for an input (also used to build the seeds).</summary>
    internal static byte[] Transport(byte[] input)
    {
        if (input.Length == 0) return [];
        if ((input[0] & 1) == 0) return input[1..];
        using var cipher = new SecretConnectionCipher(RemoteSendKey);
        var output = new List<byte>(RemoteHello);
        var frame = new byte[SecretConnectionCipher.SealedFrameSize];
        for (var i = 1; i + 3 <= input.Length && output.Count < 64 * SecretConnectionCipher.SealedFrameSize;)
        {
            var declared = BinaryPrimitives.ReadUInt16LittleEndian(input.AsSpan(i));
            int n = input[i + 2];
            i += 3;
            n = Math.Min(n, input.Length - i);
            Array.Clear(frame);
            BinaryPrimitives.WriteUInt32LittleEndian(frame, declared == 0xffff ? uint.MaxValue : declared);
            input.AsSpan(i, n).CopyTo(frame.AsSpan(SecretConnectionCipher.LengthPrefixSize));
            i += n;
            cipher.Seal(frame);
            output.AddRange(frame);
        }
        return [.. output];
    }

    /// <summary>The inverse of <see cref="Transport"/> for the sealed mode: frames of plaintext, at most 255 bytes each.</summary>
    internal static byte[] SealedInput(params byte[][] messages)
    {
        var input = new List<byte> { 1 };
        foreach (var message in messages)
            for (var offset = 0; offset < message.Length; offset += 255)
            {
                var n = Math.Min(255, message.Length - offset);
                input.AddRange([(byte)n, 0, (byte)n]);
                input.AddRange(message.AsSpan(offset, n));
            }
        return [.. input];
    }

    private static void Body(byte[] input)
    {
        var transport = new InputStream(Transport(input));
        var connection = SecretConnection.HandshakeAsync(transport, Local, LocalEphemeral).GetAwaiter().GetResult();
        try
        {
            // Nobody but B can sign the challenge; accepting another key would be an authentication bypass.
            FuzzTargets.Check(connection.RemotePublicKey.Span.SequenceEqual(Remote.PublicKey.Span),
                $"the handshake authenticated {Convert.ToHexStringLower(connection.RemotePublicKey.Span)}");
            var theirs = Handshake.ExchangeNodeInfoAsync(connection, PeerTargets.Ours).GetAwaiter().GetResult();
            Handshake.VerifyPeer(theirs, connection.RemoteId, PeerTargets.Ours);
        }
        finally
        {
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
