using System.Numerics;
using Switchboard.Crypto;
using static Switchboard.Tests.Crypto.Ed25519Reference;

namespace Switchboard.Tests.Crypto;

/// <summary>Ed25519Signer.HasSmallOrder against the curve, and why Verify needs it on top of RFC 8032's check.</summary>
public class Ed25519SmallOrderTests
{
    private static readonly byte[] IdentityEncoding = Encode(Identity);

    [Fact]
    public void ReferenceArithmeticMatchesRfc8032()
    {
        // RFC 8032 section 7.1, TEST 1: the seed and its public key, derived by the library and by the reference code.
        var seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var publicKey = new byte[32];
        Ed25519Signer.PublicKeyFromSeed(seed, publicKey);
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Convert.ToHexStringLower(publicKey));
        Assert.Equal(publicKey, Encode(Multiply(SecretScalar(seed), B)));
        Assert.True(OnCurve(B));
        Assert.Equal(Identity, Multiply(L, B));
    }

    [Fact]
    public void EveryEncodingOfTheEightSmallOrderPointsIsFlaggedAndNothingNearThem()
    {
        var torsion = SmallOrderPoints();
        Assert.Equal(8, torsion.Count);
        Assert.All(torsion, t => Assert.True(OnCurve(t) && Multiply(8, t) == Identity));
        Assert.Contains(Identity, torsion);

        // An encoding is 255 bits of y plus the sign bit of x. Every y' ≡ y (mod p) below 2^255 is read as y, and a
        // point and its negation share y, so these are all the encodings that name a point of small order:
        // 5 distinct y, 2 of them (0 and 1) with a second, non-canonical y + p, each with both sign bits.
        var ys = torsion.Select(t => t.Y).Distinct().ToList();
        Assert.Equal(5, ys.Count);
        var encodings = new List<byte[]>();
        foreach (var y in ys)
        {
            for (var raw = y; raw < BigInteger.Pow(2, 255); raw += P)
                for (var sign = 0; sign < 2; sign++)
                    encodings.Add(EncodeRaw(raw, sign));
        }
        Assert.Equal(14, encodings.Count);
        foreach (var e in encodings)
        {
            Assert.True(Ed25519Signer.HasSmallOrder(e), Convert.ToHexStringLower(e));
            if (Decode(e) is { } point) Assert.Contains(point, torsion);
        }
        foreach (var t in torsion)
            Assert.Contains(encodings, e => e.AsSpan().SequenceEqual(Encode(t)));

        // Neighbours of those y values are other points or no point at all, and are not flagged.
        foreach (var y in ys)
        {
            foreach (var near in new[] { y - 1, y + 1 })
            {
                if (near < 0 || ys.Contains(Mod(near))) continue;
                Assert.False(Ed25519Signer.HasSmallOrder(EncodeRaw(near, 0)));
                Assert.False(Ed25519Signer.HasSmallOrder(EncodeRaw(near, 1)));
            }
        }
    }

    [Fact]
    public void HonestKeysAndSignaturesAreNotSmallOrder()
    {
        var message = "challenge"u8.ToArray();
        for (var i = 0; i < 200; i++)
        {
            using var key = NodeKey.Generate();
            var sig = new byte[64];
            key.Sign(message, sig);
            Assert.False(Ed25519Signer.HasSmallOrder(key.PublicKey.Span));
            Assert.False(Ed25519Signer.HasSmallOrder(sig.AsSpan(0, 32)));
            Assert.True(Ed25519Signer.Verify(key.PublicKey.Span, message, sig));
        }
    }

    [Fact]
    public void TheIdentityKeyVerifiesATrivialSignatureUnderRfc8032AloneButNotInOurVerify()
    {
        var message = "any challenge at all"u8.ToArray();
        var trivial = Signature(IdentityEncoding, 0); // R = identity, S = 0
        Assert.True(VerifiesCofactorless(IdentityEncoding, message, trivial), "precondition: RFC 8032 alone accepts it");
        Assert.False(Ed25519Signer.Verify(IdentityEncoding, message, trivial));
    }

    [Theory]
    [InlineData("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")] // order 8
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // order 2: (0, −1)
    [InlineData("0000000000000000000000000000000000000000000000000000000000000080")] // order 4: (−√−1, 0)
    public void OtherSmallOrderKeysVerifyForgedSignaturesUnderRfc8032AloneButNotInOurVerify(string key)
    {
        var publicKey = Convert.FromHexString(key);
        var message = "challenge"u8.ToArray();
        var forged = ForgeForSmallOrderKey(publicKey, message);
        Assert.True(VerifiesCofactorless(publicKey, message, forged), "precondition: RFC 8032 alone accepts the forgery");
        Assert.False(Ed25519Signer.Verify(publicKey, message, forged));
    }

    [Fact]
    public void ASignatureWithASmallOrderRVerifiesUnderRfc8032AloneButNotInOurVerify()
    {
        // R = identity, S = k·a: what a signer with nonce 0 produces. It verifies cofactorlessly and gives away a.
        var seed = Enumerable.Range(0x20, 32).Select(i => (byte)i).ToArray();
        using var key = NodeKey.FromSeed(seed);
        var message = "challenge"u8.ToArray();
        var sig = Signature(IdentityEncoding, Challenge(IdentityEncoding, key.PublicKey.Span, message) * SecretScalar(seed));
        Assert.True(VerifiesCofactorless(key.PublicKey.Span, message, sig), "precondition: RFC 8032 alone accepts it");
        Assert.False(Ed25519Signer.Verify(key.PublicKey.Span, message, sig));
    }
}
