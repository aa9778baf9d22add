using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Conn;

/// <summary>Replays the sessions CometBFT v0.38.25 recorded, and the derived vector of PROTOCOL.md 10.2.</summary>
public class SecretConnectionVectorTests
{
    private static string Hex(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    public static TheoryData<string, int> Sides() => new()
    {
        { "A", int.MaxValue }, { "B", int.MaxValue }, // whole stream available at once
        { "A", 1 }, { "B", 1 },                       // one byte per transport read
        { "A", 1043 }, { "B", 7 },                    // frames straddling reads
    };

    [Theory]
    [MemberData(nameof(Sides))]
    public async Task ReplaysCometBftSessionByteForByte(string side, int maxChunk)
    {
        using var doc = Vectors.Json("secret_connection_transcript.json");
        var me = doc.RootElement.GetProperty(side);
        var peer = doc.RootElement.GetProperty(side == "A" ? "B" : "A");
        var writes = me.GetProperty("writes").EnumerateArray().ToList();

        using var key = NodeKey.FromSeed(Vectors.Hex(Hex(me, "ed25519_seed_hex")));
        Assert.Equal(Hex(me, "node_id"), key.Id.Value);
        var transport = new ScriptedStream(Vectors.Hex(Hex(peer, "stream_hex")), maxChunk);
        await using var conn = await SecretConnection.HandshakeAsync(transport, key, Vectors.Hex(Hex(me, "x25519_ephemeral_priv_hex")));

        // Handshake bytes: clear-text ephemeral key, then the sealed AuthSigMessage frame — byte-exact.
        Assert.Equal("ephemeral_pubkey_msg", writes[0].GetProperty("kind").GetString());
        Assert.Equal(Hex(writes[0], "hex") + Hex(writes[1], "hex"), Vectors.ToHex(transport.TakeWritten()));
        Assert.Equal(Hex(peer, "ed25519_pubkey_hex"), Vectors.ToHex(conn.RemotePublicKey.Span));
        Assert.Equal(Hex(peer, "node_id"), conn.RemoteId.Value);

        // Application writes: each Write() CometBFT made becomes the same sequence of frames here.
        var sendKey = Vectors.Hex(Hex(me.GetProperty("derived"), "send_secret_hex"));
        var frames = writes.Skip(2).ToList();
        var next = 0;
        var exact = 0;
        foreach (var message in me.GetProperty("app_messages").EnumerateArray())
        {
            await conn.WriteAsync(Vectors.Hex(Hex(message, "plaintext_hex")));
            var ours = transport.TakeWritten();
            Assert.Equal(0, ours.Length % SecretConnectionCipher.SealedFrameSize);
            for (var off = 0; off < ours.Length; off += SecretConnectionCipher.SealedFrameSize, next++)
            {
                var go = frames[next];
                var goSealed = Vectors.Hex(Hex(go, "hex"));
                var ourSealed = ours.AsSpan(off, SecretConnectionCipher.SealedFrameSize).ToArray();
                var nonce = Vectors.Hex(Hex(go, "nonce_hex"));
                var goPlain = Vectors.Hex(Hex(go, "plaintext_frame_hex"));
                var dataLen = go.GetProperty("frame_data_len").GetInt32();

                // What CometBFT sent decrypts to what it recorded (sanity of our reading of the vector).
                Assert.Equal(goPlain, Open(sendKey, nonce, goSealed));
                // Ours decrypts with the same key and nonce to the same data, with zero padding.
                var ourPlain = Open(sendKey, nonce, ourSealed);
                Assert.Equal(goPlain.AsSpan(0, 4 + dataLen).ToArray(), ourPlain.AsSpan(0, 4 + dataLen).ToArray());
                Assert.All(ourPlain.AsSpan(4 + dataLen).ToArray(), b => Assert.Equal(0, b));
                // ChaCha20 is a stream cipher: the ciphertext of length prefix and data is identical; only the
                // padding (stale plaintext in Go) and therefore the tag may differ.
                Assert.Equal(goSealed.AsSpan(0, 4 + dataLen).ToArray(), ourSealed.AsSpan(0, 4 + dataLen).ToArray());
                if (goPlain.AsSpan(4 + dataLen).IndexOfAnyExcept((byte)0) < 0)
                {
                    Assert.Equal(Hex(go, "hex"), Vectors.ToHex(ourSealed));
                    exact++;
                }
            }
        }
        Assert.Equal(frames.Count, next);
        Assert.True(exact >= 1, "the NodeInfo frame follows a shorter frame, so it must be byte-exact");

        // Everything the peer sent after its handshake decrypts to its recorded application messages,
        // including its short frames that carry stale padding.
        var expected = peer.GetProperty("app_messages").EnumerateArray().SelectMany(m => Vectors.Hex(Hex(m, "plaintext_hex"))).ToArray();
        var received = new MemoryStream();
        var buffer = new byte[maxChunk == 1 ? 1 : 4096];
        int n;
        while ((n = await conn.ReadAsync(buffer)) > 0)
            received.Write(buffer, 0, n);
        Assert.Equal(Vectors.ToHex(expected), Vectors.ToHex(received.ToArray()));
    }

    [Theory]
    [InlineData("A")]
    [InlineData("B")]
    public void DerivedSecretsMatchCometBft(string side)
    {
        using var doc = Vectors.Json("secret_connection_transcript.json");
        var me = doc.RootElement.GetProperty(side);
        var peer = doc.RootElement.GetProperty(side == "A" ? "B" : "A");
        var derived = me.GetProperty("derived");

        var ephPriv = Vectors.Hex(Hex(me, "x25519_ephemeral_priv_hex"));
        var ephPub = new byte[32];
        Curve25519.PublicKey(ephPriv, ephPub);
        Assert.Equal(Hex(me, "x25519_ephemeral_pub_hex"), Vectors.ToHex(ephPub));
        Assert.Equal("220a20" + Hex(me, "x25519_ephemeral_pub_hex"), Hex(me, "ephemeral_pubkey_msg_hex"));

        var (dh, recv, send, challenge) = (new byte[32], new byte[32], new byte[32], new byte[32]);
        var least = SecretConnection.DeriveSecrets(ephPriv, ephPub, Vectors.Hex(Hex(peer, "x25519_ephemeral_pub_hex")), dh, recv, send, challenge);
        Assert.Equal(derived.GetProperty("loc_is_least").GetBoolean(), least);
        Assert.Equal(Hex(derived, "dh_secret_hex"), Vectors.ToHex(dh));
        Assert.Equal(Hex(derived, "recv_secret_hex"), Vectors.ToHex(recv));
        Assert.Equal(Hex(derived, "send_secret_hex"), Vectors.ToHex(send));
        Assert.Equal(Hex(derived, "challenge_hex"), Vectors.ToHex(challenge));
        var okm = new byte[96];
        SecretConnection.DeriveOkm(dh, okm);
        Assert.Equal(Hex(derived, "hkdf_okm_96_hex"), Vectors.ToHex(okm));

        using var key = NodeKey.FromSeed(Vectors.Hex(Hex(me, "ed25519_seed_hex")));
        var sig = new byte[64];
        key.Sign(challenge, sig);
        Assert.Equal(Hex(derived, "challenge_sig_hex"), Vectors.ToHex(sig));
        Assert.Equal("660a220a20" + Hex(me, "ed25519_pubkey_hex") + "1240" + Hex(derived, "challenge_sig_hex"),
            Hex(derived, "auth_sig_msg_wire_hex"));
    }

    [Fact]
    public async Task DerivedVectorOfProtocol10_2()
    {
        using var doc = Vectors.Json("derived.json");
        var sts = doc.RootElement.GetProperty("sts");
        using var keyA = NodeKey.FromSeed(Vectors.Hex(Hex(sts, "nodeA_ed25519_seed")));
        using var keyB = NodeKey.FromSeed(Vectors.Hex(Hex(sts, "nodeB_ed25519_seed")));
        Assert.Equal(Hex(sts, "nodeA_pubkey"), Vectors.ToHex(keyA.PublicKey.Span));
        Assert.Equal(Hex(sts, "nodeB_pubkey"), Vectors.ToHex(keyB.PublicKey.Span));
        Assert.Equal(Hex(sts, "nodeA_id"), keyA.Id.Value);
        Assert.Equal(Hex(sts, "nodeB_id"), keyB.Id.Value);
        Assert.Equal(Hex(sts, "nodeA_privkey_go_64"), Hex(sts, "nodeA_ed25519_seed") + Hex(sts, "nodeA_pubkey"));

        var ephA = Vectors.Hex(Hex(sts, "ephA_priv"));
        var ephB = Vectors.Hex(Hex(sts, "ephB_priv"));
        var (pubA, pubB) = (new byte[32], new byte[32]);
        Curve25519.PublicKey(ephA, pubA);
        Curve25519.PublicKey(ephB, pubB);
        Assert.Equal(Hex(sts, "ephA_pub"), Vectors.ToHex(pubA));
        Assert.Equal(Hex(sts, "ephB_pub"), Vectors.ToHex(pubB));

        var (dh, recv, send, challenge) = (new byte[32], new byte[32], new byte[32], new byte[32]);
        Assert.True(SecretConnection.DeriveSecrets(ephA, pubA, pubB, dh, recv, send, challenge));
        Assert.Equal(Hex(sts, "dh_secret"), Vectors.ToHex(dh));
        Assert.Equal(Hex(sts, "A_recv_key"), Vectors.ToHex(recv));
        Assert.Equal(Hex(sts, "A_send_key"), Vectors.ToHex(send));
        Assert.Equal(Hex(sts, "challenge"), Vectors.ToHex(challenge));
        var okm = new byte[96];
        SecretConnection.DeriveOkm(dh, okm);
        Assert.Equal(Hex(sts, "hkdf_okm_96"), Vectors.ToHex(okm));
        var sig = new byte[64];
        keyA.Sign(challenge, sig);
        Assert.Equal(Hex(sts, "sigA"), Vectors.ToHex(sig));
        keyB.Sign(challenge, sig);
        Assert.Equal(Hex(sts, "sigB"), Vectors.ToHex(sig));

        // Both handshakes for real over an in-memory duplex, recording what A puts on the wire.
        var (a, b) = DuplexPipe.CreatePair();
        var tapA = new RecordingStream(a);
        var handshakeA = SecretConnection.HandshakeAsync(tapA, keyA, ephA);
        var handshakeB = SecretConnection.HandshakeAsync(b, keyB, ephB);
        await using var connA = await Eventually.WithinAsync(handshakeA, "handshake A");
        await using var connB = await Eventually.WithinAsync(handshakeB, "handshake B");
        Assert.Equal(keyB.Id, connA.RemoteId);
        Assert.Equal(keyA.Id, connB.RemoteId);

        var wire = tapA.Written;
        Assert.Equal(35 + 1044, wire.Length);
        Assert.Equal(Hex(sts, "wire_ephA_bytesvalue_delimited"), Vectors.ToHex(wire.AsSpan(0, 35)));
        var frame0 = wire.AsSpan(35, 1044);
        Assert.Equal(Hex(sts, "A_frame0_sealed_hex"), Vectors.ToHex(frame0));
        Assert.Equal(Hex(sts, "A_frame0_sealed_sha256"), Vectors.ToHex(SHA256.HashData(frame0)));
        Assert.Equal(Hex(sts, "A_frame0_tag"), Vectors.ToHex(frame0[^16..]));
        // B's receive key opens A's frame, and it carries A's AuthSigMessage.
        var plain = Open(Vectors.Hex(Hex(sts, "A_send_key")), new byte[12], frame0.ToArray());
        Assert.Equal(103u, BinaryPrimitives.ReadUInt32LittleEndian(plain));
        Assert.Equal(Hex(sts, "authsig_A_delimited"), Vectors.ToHex(plain.AsSpan(4, 103)));

        // And the session works both ways.
        await connA.WriteAsync("ping from A"u8.ToArray());
        var got = new byte[11];
        await connB.ReadExactlyAsync(got);
        Assert.Equal("ping from A"u8.ToArray(), got);
    }

    internal static byte[] Open(byte[] key, byte[] nonce, byte[] sealedFrame)
    {
        using var aead = new ChaCha20Poly1305(key);
        var plain = new byte[1028];
        aead.Decrypt(nonce, sealedFrame.AsSpan(0, 1028), sealedFrame.AsSpan(1028, 16), plain);
        return plain;
    }
}
