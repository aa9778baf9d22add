using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Tests.Support;
using Switchboard.Wire.Proto;

namespace Switchboard.Tests.Crypto;

public class Ed25519SignerTests
{
    [Fact]
    public void AuthSigVectorSignsAndEncodesLikeCometBft()
    {
        using var doc = Vectors.Json("authsig.json");
        var root = doc.RootElement;
        using var key = NodeKey.FromSeed(Vectors.Hex(root.GetProperty("ed25519_seed_hex").GetString()!));
        Assert.Equal(root.GetProperty("pubkey_hex").GetString(), Vectors.ToHex(key.PublicKey.Span));

        var challenge = Vectors.Hex(root.GetProperty("challenge_hex").GetString()!);
        var sig = new byte[64];
        key.Sign(challenge, sig);
        Assert.Equal(root.GetProperty("sig_hex").GetString(), Vectors.ToHex(sig));

        var wire = Vectors.Hex(root.GetProperty("wire_hex").GetString()!);
        var message = AuthSigMessage.Parser.ParseFrom(wire.AsSpan(1).ToArray());
        Assert.Equal(key.PublicKey.ToArray(), SecretConnection.VerifyAuthSig(message, challenge));
        Assert.Equal(root.GetProperty("proto_hex").GetString(), Vectors.ToHex(Google.Protobuf.MessageExtensions.ToByteArray(message)));
    }

    [Fact]
    public void VerifyRejectsTamperedAndMalformedInputWithoutThrowing()
    {
        using var key = NodeKey.FromSeed(new byte[32]);
        var message = "challenge"u8.ToArray();
        var sig = new byte[64];
        key.Sign(message, sig);
        Assert.True(Ed25519Signer.Verify(key.PublicKey.Span, message, sig));

        var flipped = (byte[])sig.Clone();
        flipped[10] ^= 1;
        Assert.False(Ed25519Signer.Verify(key.PublicKey.Span, message, flipped));
        Assert.False(Ed25519Signer.Verify(key.PublicKey.Span, "other"u8, sig));
        Assert.False(Ed25519Signer.Verify(key.PublicKey.Span[..31], message, sig));
        Assert.False(Ed25519Signer.Verify(key.PublicKey.Span, message, sig.AsSpan(0, 63)));
        Assert.False(Ed25519Signer.Verify(Enumerable.Repeat((byte)0xff, 32).ToArray(), message, sig));
        // S ≥ group order (non-canonical) must not verify.
        var bigS = (byte[])sig.Clone();
        Array.Fill(bigS, (byte)0xff, 32, 32);
        Assert.False(Ed25519Signer.Verify(key.PublicKey.Span, message, bigS));
    }
}
