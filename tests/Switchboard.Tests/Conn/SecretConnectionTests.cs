using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Tests.Crypto;
using Switchboard.Tests.Support;
using Switchboard.Wire;
using Switchboard.Wire.Proto;

namespace Switchboard.Tests.Conn;

/// <summary>Record layer rules (PROTOCOL.md 3.3) on connections with fixed keys.</summary>
public class SecretConnectionRecordTests
{
    private static readonly byte[] KeyAb = Enumerable.Repeat((byte)0x11, 32).ToArray();
    private static readonly byte[] KeyBa = Enumerable.Repeat((byte)0x22, 32).ToArray();
    private const int Sealed = SecretConnectionCipher.SealedFrameSize;

    private static SecretConnection Sender(Stream transport, ulong counter = 0) => new(transport, KeyAb, KeyBa, sendCounter: counter);
    private static SecretConnection Receiver(Stream transport, ulong counter = 0) => new(transport, KeyBa, KeyAb, recvCounter: counter);

    /// <summary>A frame sealed with <see cref="KeyAb"/> declaring <paramref name="declared"/> bytes.</summary>
    internal static byte[] Frame(ulong counter, uint declared, ReadOnlySpan<byte> data, byte padding = 0, byte[]? key = null)
    {
        var frame = new byte[Sealed];
        Array.Fill(frame, padding, 0, SecretConnectionCipher.FrameSize);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, declared);
        data.CopyTo(frame.AsSpan(4));
        using var cipher = new SecretConnectionCipher(key ?? KeyAb, counter);
        cipher.Seal(frame);
        return frame;
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(1024, 1, 1)]
    [InlineData(1025, 2, 1)]
    [InlineData(65536, 64, 1)]
    [InlineData(200 * 1024 + 5, 201, 2)] // above 128 KiB of data the write is split into two transport writes
    public async Task WritesSplitIntoFramesSealedIntoFewTransportWrites(int size, int frames, int transportWrites)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        var transport = new ScriptedStream([]);
        await using var conn = Sender(transport);
        await conn.WriteAsync(data);
        Assert.Equal(transportWrites, transport.WriteCalls);
        var wire = transport.TakeWritten();
        Assert.Equal(frames * Sealed, wire.Length);

        var back = new MemoryStream();
        for (var i = 0; i < frames; i++)
        {
            var nonce = new byte[12];
            BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), (ulong)i);
            var plain = SecretConnectionVectorTests.Open(KeyAb, nonce, wire.AsSpan(i * Sealed, Sealed).ToArray());
            var len = (int)BinaryPrimitives.ReadUInt32LittleEndian(plain);
            Assert.Equal(Math.Min(1024, size - i * 1024), len);
            Assert.All(plain.AsSpan(4 + len).ToArray(), b => Assert.Equal(0, b)); // we zero padding
            back.Write(plain, 4, len);
        }
        Assert.Equal(data, back.ToArray());
    }

    [Fact]
    public void SyncWriteAndReadWork()
    {
        var transport = new ScriptedStream([]);
        using var sender = Sender(transport);
        sender.Write(new byte[3000], 0, 3000);
        using var receiver = Receiver(new ScriptedStream(transport.TakeWritten(), 100));
        var got = new byte[3000];
        receiver.ReadExactly(got);
        Assert.Equal(-1, receiver.ReadByte());
    }

    [Fact]
    public async Task EmptyFramesAreSkippedAndPaddingIgnored()
    {
        var wire = Frame(0, 0, [], 0x55)
            .Concat(Frame(1, 5, "hello"u8, 0xAA))
            .Concat(Frame(2, 0, []))
            .Concat(Frame(3, 0, [], 0x77))
            .Concat(Frame(4, 5, "world"u8, 0xEE))
            .Concat(Frame(5, 0, []))
            .ToArray();
        var transport = new ScriptedStream(wire);
        await using var conn = Receiver(transport);
        var buffer = new byte[100];
        var n = await conn.ReadAsync(buffer);
        Assert.Equal("helloworld", System.Text.Encoding.ASCII.GetString(buffer, 0, n)); // one read drains all buffered frames
        Assert.Equal(0, await conn.ReadAsync(buffer)); // trailing empty frame, then EOF
        Assert.Equal(0, await conn.ReadAsync(buffer));
    }

    [Fact]
    public async Task LeftoverBytesAreServedWithoutTouchingTheTransport()
    {
        var data = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var transport = new ScriptedStream(Frame(0, 100, data));
        await using var conn = Receiver(transport);
        var one = new byte[1];
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(1, await conn.ReadAsync(one));
            Assert.Equal(i, one[0]);
            Assert.Equal(1, transport.ReadCalls);
        }
        Assert.Equal(0, await conn.ReadAsync(one));
    }

    [Fact]
    public async Task ZeroByteReadWaitsForDataWithoutConsumingIt()
    {
        await using var conn = Receiver(new ScriptedStream(Frame(0, 0, []).Concat(Frame(1, 3, "abc"u8)).ToArray()));
        Assert.Equal(0, await conn.ReadAsync(Memory<byte>.Empty));
        var buffer = new byte[8];
        Assert.Equal(3, await conn.ReadAsync(buffer));
        Assert.Equal("abc"u8.ToArray(), buffer[..3]);
    }

    [Theory]
    [InlineData(1025u)]
    [InlineData(uint.MaxValue)]
    public async Task FrameDeclaringMoreThan1024BytesIsFatal(uint declared)
    {
        var transport = new ScriptedStream(Frame(0, 3, "abc"u8).Concat(Frame(1, declared, [])).ToArray());
        await using var conn = Receiver(transport);
        var buffer = new byte[3];
        await conn.ReadExactlyAsync(buffer);
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => conn.ReadAsync(buffer).AsTask());
        Assert.Equal(ProtocolViolation.InvalidFrame, ex.Violation);
        Assert.True(transport.IsDisposed);
        Assert.Equal(ProtocolViolation.InvalidFrame, (await Assert.ThrowsAsync<ProtocolViolationException>(() => conn.ReadAsync(buffer).AsTask())).Violation);
        Assert.Equal(ProtocolViolation.InvalidFrame, (await Assert.ThrowsAsync<ProtocolViolationException>(async () => await conn.WriteAsync(buffer))).Violation);
    }

    [Fact]
    public async Task TamperedByteAnywhereKillsTheConnection()
    {
        var data = new byte[3000];
        Random.Shared.NextBytes(data);
        var sender = new ScriptedStream([]);
        await using (var conn = Sender(sender))
            await conn.WriteAsync(data);
        var wire = sender.TakeWritten();
        Assert.Equal(3 * Sealed, wire.Length);

        int[] positions = [0, 1, 3, 4, 5, 500, 1027, 1028, 1035, 1043, 1044, 1048, 2000, 2088, 2091, 2500, 3131];
        foreach (var position in positions)
        {
            var tampered = (byte[])wire.Clone();
            tampered[position] ^= 0x01;
            var transport = new ScriptedStream(tampered);
            await using var conn = Receiver(transport);
            var received = 0;
            var buffer = new byte[4096];
            var ex = await Assert.ThrowsAsync<ProtocolViolationException>(async () =>
            {
                while (true)
                {
                    var n = await conn.ReadAsync(buffer);
                    Assert.True(n > 0, "stream ended without detecting the tampering");
                    Assert.Equal(data.AsSpan(received, n).ToArray(), buffer[..n]); // no forged byte is ever delivered
                    received += n;
                }
            });
            Assert.Equal(ProtocolViolation.DecryptionFailed, ex.Violation);
            Assert.Equal(position / Sealed * 1024, received);
            Assert.True(transport.IsDisposed);
            Assert.Equal(ProtocolViolation.DecryptionFailed, (await Assert.ThrowsAsync<ProtocolViolationException>(() => conn.ReadAsync(buffer).AsTask())).Violation);
            Assert.Equal(ProtocolViolation.DecryptionFailed, Assert.Throws<ProtocolViolationException>(() => conn.Write(buffer)).Violation);
        }
    }

    [Fact]
    public async Task StreamEndingInsideAFrameIsTruncated()
    {
        var wire = Frame(0, 3, "abc"u8).Concat(Frame(1, 3, "def"u8).AsSpan(0, 1000).ToArray()).ToArray();
        await using var conn = Receiver(new ScriptedStream(wire));
        var buffer = new byte[3];
        await conn.ReadExactlyAsync(buffer);
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => conn.ReadAsync(buffer).AsTask());
        Assert.Equal(ProtocolViolation.Truncated, ex.Violation);
    }

    [Fact]
    public async Task SendNonceExhaustionClosesTheConnection()
    {
        var transport = new ScriptedStream([]);
        await using var conn = Sender(transport, ulong.MaxValue - 1);
        await conn.WriteAsync(new byte[10]);
        Assert.Equal(Sealed, transport.TakeWritten().Length);
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(async () => await conn.WriteAsync(new byte[10]));
        Assert.Equal(ProtocolViolation.NonceExhausted, ex.Violation);
        Assert.Empty(transport.TakeWritten()); // the frame with nonce 2^64−1 never reaches the wire (as in Go)
        Assert.True(transport.IsDisposed);
        Assert.Equal(ProtocolViolation.NonceExhausted, (await Assert.ThrowsAsync<ProtocolViolationException>(async () => await conn.WriteAsync(new byte[1]))).Violation);
        Assert.Equal(ProtocolViolation.NonceExhausted, (await Assert.ThrowsAsync<ProtocolViolationException>(() => conn.ReadAsync(new byte[1]).AsTask())).Violation);
    }

    [Fact]
    public async Task ReceiveNonceExhaustionClosesTheConnection()
    {
        var wire = Frame(ulong.MaxValue - 1, 2, "ok"u8).Concat(new byte[Sealed]).ToArray();
        var transport = new ScriptedStream(wire);
        await using var conn = Receiver(transport, ulong.MaxValue - 1);
        var buffer = new byte[2];
        await conn.ReadExactlyAsync(buffer);
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => conn.ReadAsync(buffer).AsTask());
        Assert.Equal(ProtocolViolation.NonceExhausted, ex.Violation);
        Assert.True(transport.IsDisposed);
    }

    [Fact]
    public async Task GarbageNeverThrowsAnythingUntyped()
    {
        var random = new Random(20240611);
        for (var round = 0; round < 400; round++)
        {
            var input = new MemoryStream();
            var frames = random.Next(0, 4);
            for (var f = 0; f < frames; f++)
            {
                switch (random.Next(4))
                {
                    case 0: // a correctly sealed frame with a random declared length
                        var declared = random.Next(3) == 0 ? (uint)random.NextInt64(0, uint.MaxValue + 1L) : (uint)random.Next(0, 1100);
                        input.Write(Frame((ulong)f, declared, [], (byte)random.Next(256)));
                        break;
                    case 1: // random bytes of a random length
                        var junk = new byte[random.Next(0, 3000)];
                        random.NextBytes(junk);
                        input.Write(junk);
                        break;
                    case 2: // a frame for the wrong nonce
                        input.Write(Frame((ulong)f + 7, 5, "hello"u8));
                        break;
                    default: // a frame under the wrong key
                        input.Write(Frame((ulong)f, 5, "hello"u8, key: KeyBa));
                        break;
                }
            }
            await using var conn = Receiver(new ScriptedStream(input.ToArray(), random.Next(1, 3000)));
            var buffer = new byte[random.Next(1, 2048)];
            try
            {
                while (await conn.ReadAsync(buffer) > 0) { }
            }
            catch (ProtocolViolationException ex)
            {
                Assert.Contains(ex.Violation, new[] { ProtocolViolation.DecryptionFailed, ProtocolViolation.InvalidFrame, ProtocolViolation.Truncated });
            }
        }
    }

    [Fact]
    public async Task DisposeDisposesTheTransportAndEndsTheConnection()
    {
        var transport = new ScriptedStream([]);
        var conn = Sender(transport);
        Assert.True(conn.CanRead && conn.CanWrite && !conn.CanSeek);
        await conn.DisposeAsync();
        Assert.True(transport.IsDisposed);
        Assert.False(conn.CanRead);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => conn.ReadAsync(new byte[1]).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await conn.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task AnIdleReaderOverASocketHoldsNoReceiveBufferAndResumesIntact()
    {
        var (a, b) = await Loopback.PairAsync();
        await using var sender = Sender(a);
        await using var receiver = Receiver(b);
        var first = MConnectionKit.Pattern(70_000); // more than one transport read's worth of frames
        await sender.WriteAsync(first);
        var got = new byte[first.Length];
        await receiver.ReadExactlyAsync(got);
        Assert.Equal(first, got);

        // Nothing left to read: the pending read waits on the socket with a zero-byte read, and the buffer is back in
        // the pool (released before the wait, so this holds as soon as ReadAsync has returned its pending task).
        var head = new byte[100];
        var pending = receiver.ReadAsync(head).AsTask();
        Assert.False(pending.IsCompleted);
        Assert.False(receiver.HoldsReceiveBuffer);

        var second = MConnectionKit.Pattern(3000);
        await sender.WriteAsync(second);
        var n = await Eventually.WithinAsync(pending, "the idle read resumes when data arrives");
        Assert.True(receiver.HoldsReceiveBuffer);
        var rest = new byte[second.Length - n];
        await receiver.ReadExactlyAsync(rest);
        Assert.Equal(second, (byte[])[.. head.AsSpan(0, n), .. rest]);
    }

    [Fact]
    public async Task OneReaderAndOneWriterMayRunConcurrentlyButNotTwoReaders()
    {
        // A socket (unlike an in-memory pipe) aborts a pending receive when it is closed.
        var (a, b) = await Loopback.PairAsync();
        var conn = Sender(a);
        var pending = conn.ReadAsync(new byte[10]).AsTask();
        Assert.False(pending.IsCompleted);
        await Assert.ThrowsAsync<NotSupportedException>(() => conn.ReadAsync(new byte[10]).AsTask());
        await conn.WriteAsync(new byte[10]); // the writer is independent of the pending read
        var fromA = new byte[Sealed];
        await b.ReadExactlyAsync(fromA);
        await conn.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Eventually.WithinAsync(pending, "pending read ends on dispose"));
        await b.DisposeAsync();
    }
}

/// <summary>The handshake of PROTOCOL.md 3.2, its failure modes (10.1 evil cases) and real sockets.</summary>
public class SecretConnectionHandshakeTests
{
    private static readonly byte[] OurEph = Enumerable.Range(0x40, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] PeerEph = Enumerable.Range(0x60, 32).Select(i => (byte)i).ToArray();
    private static readonly NodeKey OurKey = NodeKey.FromSeed(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
    private static readonly NodeKey PeerKey = NodeKey.FromSeed(Enumerable.Range(0x20, 32).Select(i => (byte)i).ToArray());

    private static byte[] EphMessage(ReadOnlySpan<byte> value) => Delimited.Encode(new BytesValue { Value = ByteString.CopyFrom(value) });

    private static byte[] PeerEphPub()
    {
        var pub = new byte[32];
        Curve25519.PublicKey(PeerEph, pub);
        return pub;
    }

    /// <summary>What a scripted peer sends: its ephemeral key, then one sealed frame holding <paramref name="auth"/>(challenge).</summary>
    private static byte[] PeerBytes(Func<byte[], byte[]> auth)
    {
        var peerPub = PeerEphPub();
        var ourPub = new byte[32];
        Curve25519.PublicKey(OurEph, ourPub);
        var (dh, recv, send, challenge) = (new byte[32], new byte[32], new byte[32], new byte[32]);
        SecretConnection.DeriveSecrets(PeerEph, peerPub, ourPub, dh, recv, send, challenge);
        var body = auth(challenge);
        Assert.True(body.Length <= 1024);
        return EphMessage(peerPub).Concat(SecretConnectionRecordTests.Frame(0, (uint)body.Length, body, key: send)).ToArray();
    }

    private static byte[] Signed(byte[] challenge, NodeKey signer)
    {
        var sig = new byte[64];
        signer.Sign(challenge, sig);
        return sig;
    }

    private static byte[] Auth(PublicKey? key, byte[] sig) =>
        Delimited.Encode(new AuthSigMessage { PubKey = key, Sig = ByteString.CopyFrom(sig) });

    private static PublicKey Ed(ReadOnlySpan<byte> key) => new() { Ed25519 = ByteString.CopyFrom(key) };

    private static async Task<Exception> FailsAsync(byte[] incoming)
    {
        var transport = new ScriptedStream(incoming);
        var ex = await Assert.ThrowsAnyAsync<P2PException>(() => SecretConnection.HandshakeAsync(transport, OurKey, OurEph));
        Assert.True(transport.IsDisposed, "a failed handshake closes the transport");
        return ex;
    }

    private static async Task ViolationAsync(byte[] incoming, ProtocolViolation expected) =>
        Assert.Equal(expected, Assert.IsType<ProtocolViolationException>(await FailsAsync(incoming)).Violation);

    private static async Task AuthFailureAsync(byte[] incoming) =>
        Assert.Equal(RejectReason.AuthFailure, Assert.IsType<PeerRejectedException>(await FailsAsync(incoming)).Reason);

    [Fact]
    public async Task HonestScriptedPeerIsAccepted()
    {
        var transport = new ScriptedStream(PeerBytes(c => Auth(Ed(PeerKey.PublicKey.Span), Signed(c, PeerKey))));
        await using var conn = await SecretConnection.HandshakeAsync(transport, OurKey, OurEph);
        Assert.Equal(PeerKey.Id, conn.RemoteId);
        Assert.Equal(PeerKey.PublicKey.ToArray(), conn.RemotePublicKey.ToArray());
    }

    [Fact]
    public Task NoEphemeralKeyIsTruncated() => ViolationAsync([], ProtocolViolation.Truncated);

    [Fact]
    public Task EphemeralKeyCutShortIsTruncated() => ViolationAsync(EphMessage(PeerEphPub())[..20], ProtocolViolation.Truncated);

    [Fact]
    public Task DropUsersEphemeralKeyIsRejected() => ViolationAsync(EphMessage("drop users;"u8), ProtocolViolation.InvalidHandshake);

    [Fact]
    public Task LongerEphemeralKeyIsRejected() =>
        // 35-byte body: above the 34 a BytesValue with 32 bytes has, so refused on its length prefix.
        ViolationAsync(EphMessage(new byte[33]), ProtocolViolation.MessageTooLarge);

    [Fact]
    public Task ShorterEphemeralKeyIsRejected() => ViolationAsync(EphMessage(new byte[31]), ProtocolViolation.InvalidHandshake);

    [Fact]
    public async Task EphemeralMessageAbove34BytesIsRejectedOnItsPrefixBeforeTheBodyIsRead()
    {
        // Declares 35 bytes and sends them all: only the 1-byte prefix may be consumed (nothing allocated for the rest).
        var incoming = new byte[] { 35, 0x0A, 33 }.Concat(new byte[33]).ToArray();
        var transport = new ScriptedStream(incoming);
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => SecretConnection.HandshakeAsync(transport, OurKey, OurEph));
        Assert.Equal(ProtocolViolation.MessageTooLarge, ex.Violation);
        Assert.Contains("limit of 34", ex.Message);
        Assert.Equal(1, transport.Consumed);
    }

    [Fact]
    public Task EphemeralMessageOfExactly34BytesIsReadInFull() =>
        // Declares the maximum and stops short: the reader accepted the length and went on to read the body.
        ViolationAsync([34, 0x0A, 32, 1, 2, 3], ProtocolViolation.Truncated);

    [Theory]
    [InlineData(104)]        // one above the largest AuthSigMessage we answer (secp256k1 key)
    [InlineData(1024)]       // the whole first frame
    [InlineData(1024 * 1024)] // CometBFT's limit
    public async Task AuthSigMessageAbove103BytesIsRejectedOnItsPrefixBeforeTheBodyIsRead(int declared)
    {
        var prefix = new byte[Varint.SizeOf((ulong)declared)];
        Varint.Write(prefix, (ulong)declared);
        var ex = Assert.IsType<ProtocolViolationException>(await FailsAsync(PeerBytes(_ => [.. prefix, .. new byte[Math.Min(declared, 1024 - prefix.Length)]])));
        Assert.Equal(ProtocolViolation.MessageTooLarge, ex.Violation);
        Assert.Contains("limit of 103", ex.Message);
    }

    [Fact]
    public async Task TheHonestAuthSigMessageIs102BytesAndTheCapsAreTheirSizes()
    {
        var honest = Auth(Ed(PeerKey.PublicKey.Span), new byte[64]);
        Assert.Equal(1 + 102, honest.Length);
        Assert.Equal(102, honest[0]);
        var secp = Auth(new PublicKey { Secp256K1 = ByteString.CopyFrom(new byte[33]) }, new byte[64]);
        Assert.Equal(1 + SecretConnection.MaxAuthSigMessageBodySize, secp.Length);
        Assert.Equal(SecretConnection.EphemeralMessageSize, EphMessage(PeerEphPub()).Length);
        Assert.Equal(SecretConnection.EphemeralMessageSize - 1, SecretConnection.MaxEphemeralMessageBodySize);
        // And a handshake at exactly those sizes still succeeds.
        var transport = new ScriptedStream(PeerBytes(c => Auth(Ed(PeerKey.PublicKey.Span), Signed(c, PeerKey))));
        await using var conn = await SecretConnection.HandshakeAsync(transport, OurKey, OurEph);
        Assert.Equal(PeerKey.Id, conn.RemoteId);
    }

    private static async Task SmallOrderAsync(byte[] incoming, string expected)
    {
        var ex = Assert.IsType<PeerRejectedException>(await FailsAsync(incoming));
        Assert.Equal(RejectReason.SmallOrderKey, ex.Reason);
        Assert.Contains(expected, ex.Message);
    }

    private static readonly byte[] IdentityPoint = Ed25519Reference.Encode(Ed25519Reference.Identity);

    [Fact]
    public Task IdentityKeyWithTheTrivialSignatureIsRefusedAsSmallOrder() =>
        SmallOrderAsync(PeerBytes(c =>
        {
            var trivial = Ed25519Reference.Signature(IdentityPoint, 0); // R = identity, S = 0: "signs" every challenge
            Assert.True(Ed25519Reference.VerifiesCofactorless(IdentityPoint, c, trivial),
                "precondition: without the small-order check this handshake would succeed");
            return Auth(Ed(IdentityPoint), trivial);
        }), "public key 0100000000000000000000000000000000000000000000000000000000000000 is a point of small order");

    [Theory]
    [InlineData("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")] // order 8
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // order 2
    public Task OtherSmallOrderKeyWithAForgedSignatureIsRefused(string key) =>
        SmallOrderAsync(PeerBytes(c =>
        {
            var publicKey = Convert.FromHexString(key);
            var forged = Ed25519Reference.ForgeForSmallOrderKey(publicKey, c);
            Assert.True(Ed25519Reference.VerifiesCofactorless(publicKey, c, forged),
                "precondition: without the small-order check this handshake would succeed");
            return Auth(Ed(publicKey), forged);
        }), "is a point of small order");

    [Theory]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000080")] // identity with a "−0" sign bit
    [InlineData("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // p + 1: the identity, non-canonical
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")] // p with the sign bit: order 4
    public Task NonCanonicalEncodingsOfSmallOrderKeysAreRefused(string key) =>
        SmallOrderAsync(PeerBytes(_ => Auth(Ed(Convert.FromHexString(key)), Ed25519Reference.Signature(IdentityPoint, 0))), "is a point of small order");

    [Fact]
    public Task SignatureWithASmallOrderRIsRefused() =>
        SmallOrderAsync(PeerBytes(c =>
        {
            // The peer's real key, signing with R = identity and S = k·a (nonce 0): valid under RFC 8032 alone.
            var seed = Enumerable.Range(0x20, 32).Select(i => (byte)i).ToArray();
            var k = Ed25519Reference.Challenge(IdentityPoint, PeerKey.PublicKey.Span, c);
            var sig = Ed25519Reference.Signature(IdentityPoint, k * Ed25519Reference.SecretScalar(seed));
            Assert.True(Ed25519Reference.VerifiesCofactorless(PeerKey.PublicKey.Span, c, sig),
                "precondition: without the small-order check this handshake would succeed");
            return Auth(Ed(PeerKey.PublicKey.Span), sig);
        }), "R of the remote's challenge signature is a point of small order");

    [Fact]
    public Task EphemeralMessageOverOneMiBIsRejectedBeforeReading() =>
        ViolationAsync([0x81, 0x80, 0x40], ProtocolViolation.MessageTooLarge); // declares 1 MiB + 1

    [Fact]
    public Task UndecodableEphemeralMessageIsMalformed() => ViolationAsync([0x02, 0xFF, 0xFF], ProtocolViolation.MalformedMessage);

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    public Task LowOrderEphemeralKeyIsRejected(string point) =>
        ViolationAsync(EphMessage(Vectors.Hex(point)), ProtocolViolation.InvalidHandshake);

    [Fact]
    public Task NoAuthSigIsTruncated() => ViolationAsync(EphMessage(PeerEphPub()), ProtocolViolation.Truncated);

    [Fact]
    public Task GarbageAuthSigFailsToDecrypt()
    {
        var garbage = new byte[1044];
        new Random(7).NextBytes(garbage);
        return ViolationAsync(EphMessage(PeerEphPub()).Concat(garbage).ToArray(), ProtocolViolation.DecryptionFailed);
    }

    [Fact]
    public Task TamperedEphemeralKeyFailsToDecryptTheAuthSig()
    {
        var honest = PeerBytes(c => Auth(Ed(PeerKey.PublicKey.Span), Signed(c, PeerKey)));
        honest[10] ^= 0x02;
        return ViolationAsync(honest, ProtocolViolation.DecryptionFailed);
    }

    [Fact]
    public Task BadSignatureIsAnAuthFailure() => AuthFailureAsync(PeerBytes(c =>
    {
        var sig = Signed(c, PeerKey);
        sig[5] ^= 0x10;
        return Auth(Ed(PeerKey.PublicKey.Span), sig);
    }));

    [Fact]
    public Task SignatureByAnotherKeyIsAnAuthFailure() =>
        AuthFailureAsync(PeerBytes(c => Auth(Ed(PeerKey.PublicKey.Span), Signed(c, OurKey))));

    [Fact]
    public Task Secp256k1KeyIsAnAuthFailure() =>
        AuthFailureAsync(PeerBytes(c => Auth(new PublicKey { Secp256K1 = ByteString.CopyFrom(new byte[33]) }, Signed(c, PeerKey))));

    [Fact]
    public Task UnknownKeyTypeIsAnAuthFailure() =>
        // PublicKey with oneof field 3 (bls12381 in CometBFT v1) — unknown here.
        AuthFailureAsync(PeerBytes(c =>
        {
            var body = new byte[] { 0x0A, 0x22, 0x1A, 0x20 }.Concat(new byte[32]).Concat(new byte[] { 0x12, 0x40 }).Concat(Signed(c, PeerKey)).ToArray();
            return new byte[] { (byte)body.Length }.Concat(body).ToArray();
        }));

    [Fact]
    public Task MissingKeyIsInvalid() => ViolationAsync(PeerBytes(c => Auth(null, Signed(c, PeerKey))), ProtocolViolation.InvalidHandshake);

    [Fact]
    public Task ShortKeyIsInvalid() =>
        ViolationAsync(PeerBytes(c => Auth(Ed(PeerKey.PublicKey.Span[..31]), Signed(c, PeerKey))), ProtocolViolation.InvalidHandshake);

    [Fact]
    public Task ShortSignatureIsInvalid() =>
        ViolationAsync(PeerBytes(c => Auth(Ed(PeerKey.PublicKey.Span), Signed(c, PeerKey)[..63])), ProtocolViolation.InvalidHandshake);

    [Fact]
    public Task UndecodableAuthSigIsMalformed() => ViolationAsync(PeerBytes(_ => [0x03, 0x0A, 0xFF, 0xFF]), ProtocolViolation.MalformedMessage);

    [Fact]
    public async Task TwoConnectionsOverLoopbackTcpExchangeRandomPayloadsIntact()
    {
        var (left, right) = await Loopback.PairAsync();
        using var keyA = NodeKey.Generate();
        using var keyB = NodeKey.Generate();
        var handshakeA = SecretConnection.HandshakeAsync(left, keyA);
        var handshakeB = SecretConnection.HandshakeAsync(right, keyB);
        await using var a = await Eventually.WithinAsync(handshakeA, "handshake A");
        await using var b = await Eventually.WithinAsync(handshakeB, "handshake B");
        Assert.Equal(keyB.Id, a.RemoteId);
        Assert.Equal(keyA.Id, b.RemoteId);

        var random = new Random(1234);
        int[] sizes = [0, 1, 1023, 1024, 1025, 4096, 65536, 1 << 20, .. Enumerable.Range(0, 12).Select(_ => random.Next(0, (1 << 20) + 1))];
        byte[][] Payloads() => sizes.Select(s => { var p = new byte[s]; random.NextBytes(p); return p; }).ToArray();
        var fromA = Payloads();
        var fromB = Payloads();

        static async Task SendAll(SecretConnection c, byte[][] payloads)
        {
            foreach (var p in payloads)
                await c.WriteAsync(p);
        }
        static async Task<byte[]> ReceiveAll(SecretConnection c, int total)
        {
            var all = new byte[total];
            await c.ReadExactlyAsync(all);
            return all;
        }
        var work = Task.WhenAll(SendAll(a, fromA), SendAll(b, fromB));
        var gotByB = ReceiveAll(b, fromA.Sum(p => p.Length));
        var gotByA = ReceiveAll(a, fromB.Sum(p => p.Length));
        await Eventually.WithinAsync(Task.WhenAll(work, gotByA, gotByB), "payload exchange", TimeSpan.FromSeconds(60));
        Assert.True(fromA.SelectMany(p => p).SequenceEqual(await gotByB));
        Assert.True(fromB.SelectMany(p => p).SequenceEqual(await gotByA));

        // Disposing one end is a clean end of stream for the other.
        await a.DisposeAsync();
        Assert.Equal(0, await Eventually.WithinAsync(b.ReadAsync(new byte[1]).AsTask(), "EOF after dispose"));
    }

    [Fact]
    public async Task SilentPeerHonoursTheCancellationTokenAndLeavesNothingBehind()
    {
        var (ours, silent) = await Loopback.PairAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var handshake = SecretConnection.HandshakeAsync(ours, OurKey, cts.Token);
        var ex = await Eventually.WithinAsync(Assert.ThrowsAnyAsync<OperationCanceledException>(() => handshake), "handshake cancellation");
        Assert.Equal(cts.Token, ex.CancellationToken);

        // We sent our ephemeral key without waiting for the peer, then closed the socket on cancellation.
        var received = new MemoryStream();
        var buffer = new byte[64];
        int n;
        while ((n = await Eventually.WithinAsync(silent.ReadAsync(buffer).AsTask(), "read from the silent side")) > 0)
            received.Write(buffer, 0, n);
        Assert.Equal(SecretConnection.EphemeralMessageSize, received.Length);
        Assert.Equal([0x22, 0x0A, 0x20], received.ToArray()[..3]);
        Assert.Throws<ObjectDisposedException>(() => ours.Write(new byte[1]));
        await silent.DisposeAsync();
    }

    [Fact]
    public async Task AlreadyCancelledTokenClosesTheTransport()
    {
        var transport = new ScriptedStream([]);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SecretConnection.HandshakeAsync(transport, OurKey, new CancellationToken(true)));
        Assert.True(transport.IsDisposed);
    }
}

/// <summary>A transport whose incoming bytes are fixed (delivered at most <c>maxChunk</c> per read) and whose writes are recorded.</summary>
internal sealed class ScriptedStream(byte[] incoming, int maxChunk = int.MaxValue) : Stream
{
    private readonly MemoryStream _written = new();
    private int _position;

    public int WriteCalls { get; private set; }
    public int ReadCalls { get; private set; }
    public bool IsDisposed { get; private set; }

    /// <summary>How many of the incoming bytes have been read.</summary>
    public int Consumed => _position;

    public byte[] TakeWritten()
    {
        var bytes = _written.ToArray();
        _written.SetLength(0);
        WriteCalls = 0;
        return bytes;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ReadCalls++;
        var n = Math.Min(Math.Min(buffer.Length, maxChunk), incoming.Length - _position);
        incoming.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        WriteCalls++;
        _written.Write(buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }
}

/// <summary>Passes everything through to <c>inner</c> and keeps a copy of what was written.</summary>
internal sealed class RecordingStream(Stream inner) : Stream
{
    private readonly MemoryStream _written = new();

    public byte[] Written { get { lock (_written) return _written.ToArray(); } }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count)
    {
        lock (_written) _written.Write(buffer, offset, count);
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_written) _written.Write(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

internal static class Loopback
{
    /// <summary>A connected TCP pair on 127.0.0.1 (port chosen by the OS).</summary>
    public static async Task<(NetworkStream Client, NetworkStream Server)> PairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var server = await accept;
        server.NoDelay = true;
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }
}
