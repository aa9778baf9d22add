using System.Numerics;
using Switchboard.Crypto;
using static Switchboard.Tests.Crypto.Ed25519Reference;

namespace Switchboard.Tests.Crypto;

/// <summary>
/// The two backends of the Crypto seams — libsodium (<see cref="Curve25519.Native"/>, <see cref="Ed25519Signer.Native"/>)
/// and BouncyCastle (<c>.Managed</c>) — give the same answers, and the same as the textbook arithmetic, on honest
/// inputs and on the edge cases where Ed25519 verifiers are known to differ (cofactored vs cofactorless equation,
/// non-canonical S, A and R, points off the curve), so which one a machine loads cannot change what a node accepts.
/// </summary>
public class CryptoBackendTests
{
    [Fact]
    public void LibsodiumLoadsOnTheMachinesWeTestOn()
    {
        // The package ships the native library for this runtime; if it stopped loading, every node would silently
        // run on the slower fallback.
        Assert.True(Sodium.IsAvailable, "libsodium did not load: the seams fall back to BouncyCastle");
    }

    [Fact]
    public void X25519BackendsAgreeOnRandomAndOddPoints()
    {
        var random = new Random(7748);
        var scalar = new byte[32];
        var point = new byte[32];
        for (var i = 0; i < 300; i++)
        {
            random.NextBytes(scalar);
            random.NextBytes(point);
            // Every third point with the top bit set, which RFC 7748 says to ignore; some u ≥ p, which it reduces.
            if (i % 3 == 0) point[31] |= 0x80;
            if (i % 50 == 1) { Array.Fill(point, (byte)0xff); point[0] = (byte)(0xed + i % 0x12); }
            AssertSameX25519(scalar, point);
        }
        foreach (var low in LowOrderU())
        {
            random.NextBytes(scalar);
            AssertSameX25519(scalar, low);
            var native = new byte[32];
            var managed = new byte[32];
            Assert.False(Curve25519.Native.TrySharedSecret(scalar, low, native));
            Assert.False(Curve25519.Managed.TrySharedSecret(scalar, low, managed));
            Assert.All(native, b => Assert.Equal(0, b));
        }
    }

    private static void AssertSameX25519(byte[] scalar, byte[] point)
    {
        var nativePublic = new byte[32];
        var managedPublic = new byte[32];
        Curve25519.Native.PublicKey(scalar, nativePublic);
        Curve25519.Managed.PublicKey(scalar, managedPublic);
        Assert.Equal(managedPublic, nativePublic);
        var native = new byte[32];
        var managed = new byte[32];
        var nativeOk = Curve25519.Native.TrySharedSecret(scalar, point, native);
        var managedOk = Curve25519.Managed.TrySharedSecret(scalar, point, managed);
        Assert.Equal(managedOk, nativeOk);
        Assert.Equal(managed, native);
    }

    // The u coordinates (with and without the ignored top bit) whose product with any clamped scalar is zero.
    private static IEnumerable<byte[]> LowOrderU()
    {
        string[] hex =
        [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        foreach (var h in hex)
        {
            var u = Convert.FromHexString(h);
            yield return u;
            var high = (byte[])u.Clone();
            high[31] |= 0x80;
            yield return high;
        }
    }

    [Fact]
    public void Ed25519BackendsDeriveAndSignAlike()
    {
        var random = new Random(8032);
        var seed = new byte[32];
        for (var i = 0; i < 100; i++)
        {
            random.NextBytes(seed);
            var message = new byte[random.Next(0, 300)];
            random.NextBytes(message);
            var nativePublic = new byte[32];
            var managedPublic = new byte[32];
            Ed25519Signer.Native.PublicKeyFromSeed(seed, nativePublic);
            Ed25519Signer.Managed.PublicKeyFromSeed(seed, managedPublic);
            Assert.Equal(managedPublic, nativePublic);
            var nativeSig = new byte[64];
            var managedSig = new byte[64];
            Ed25519Signer.Native.Sign(seed, nativePublic, message, nativeSig);
            Ed25519Signer.Managed.Sign(seed, managedPublic, message, managedSig);
            Assert.Equal(managedSig, nativeSig);
            Assert.True(Ed25519Signer.Native.Verify(nativePublic, message, nativeSig));
            Assert.True(Ed25519Signer.Managed.Verify(nativePublic, message, nativeSig));
            if (i % 10 == 0) Assert.True(Ed25519Cofactorless.Verify(nativePublic, message, nativeSig));
        }
    }

    /// <summary>What <see cref="Ed25519Signer.Verify"/> returns on <paramref name="backend"/>: its own checks, then the backend.</summary>
    private static bool SeamVerify(bool native, byte[] publicKey, byte[] message, byte[] signature)
    {
        if (Ed25519Signer.HasSmallOrder(publicKey) || Ed25519Signer.HasSmallOrder(signature.AsSpan(0, 32)))
            return false;
        return native ? Ed25519Signer.Native.Verify(publicKey, message, signature) : Ed25519Signer.Managed.Verify(publicKey, message, signature);
    }

    private static void AssertVerdict(bool expected, byte[] publicKey, byte[] message, byte[] signature, string what)
    {
        Assert.True(expected == SeamVerify(native: true, publicKey, message, signature), $"libsodium: {what}");
        Assert.True(expected == SeamVerify(native: false, publicKey, message, signature), $"BouncyCastle: {what}");
        Assert.True(expected == Ed25519Signer.Verify(publicKey, message, signature), $"the seam: {what}");
        var small = Ed25519Signer.HasSmallOrder(publicKey) || Ed25519Signer.HasSmallOrder(signature.AsSpan(0, 32));
        Assert.True(expected == (!small && VerifiesCofactorless(publicKey, message, signature)), $"the reference: {what}");
        // The exact check the managed fallback uses where BouncyCastle's cofactored one could differ, on every case.
        Assert.True(expected == (!small && Ed25519Cofactorless.Verify(publicKey, message, signature)), $"Ed25519Cofactorless: {what}");
    }

    [Fact]
    public void VerifyIsCofactorlessWithBothBackends()
    {
        // A key with a torsion component, A' = [a]B + T (T of order 8), signed honestly with a but hashed with A':
        // [S]B = R + [k]A' holds only when [k]T is the identity, i.e. k ≡ 0 (mod 8); a cofactored verifier
        // ([8][S]B = [8]R + [8][k]A') would accept every one. Both backends must take the cofactorless answer.
        var torsion = SmallOrderPoints().First(t => Multiply(4, t) != Identity);
        var a = SecretScalar(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var mixedKey = Encode(Add(Multiply(a, B), torsion));
        var message = "mixed order"u8.ToArray();
        var (accepted, refused) = (0, 0);
        for (BigInteger r = 1; r < 400 && (accepted < 2 || refused < 4); r++)
        {
            var sig = SignWith(a, r, Identity, mixedKey, message);
            var k = Challenge(sig.AsSpan(0, 32), mixedKey, message);
            var expected = k % 8 == 0;
            if (expected) accepted++;
            else if (refused < 4) refused++;
            else continue;
            AssertVerdict(expected, mixedKey, message, sig, $"mixed-order key, k mod 8 = {k % 8}");
        }
        Assert.True(accepted >= 2, "found no k ≡ 0 (mod 8)");

        // An R with a torsion component and the honest S for it: cofactorless refuses (R ≠ [S]B − [k]A), cofactored accepts.
        using var key = NodeKey.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var mixedR = SignWith(a, 12345, torsion, key.PublicKey.ToArray(), message);
        AssertVerdict(false, key.PublicKey.ToArray(), message, mixedR, "mixed-order R");
        AssertVerdict(true, key.PublicKey.ToArray(), message, SignWith(a, 12345, Identity, key.PublicKey.ToArray(), message), "honest");
    }

    [Fact]
    public void MalformedSignaturesAndKeysAreRefusedByBothBackends()
    {
        var seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        using var key = NodeKey.FromSeed(seed);
        var publicKey = key.PublicKey.ToArray();
        var message = "challenge"u8.ToArray();
        var sig = new byte[64];
        key.Sign(message, sig);
        AssertVerdict(true, publicKey, message, sig, "honest");

        // S + L: the same scalar mod L, not canonical. RFC 8032 and both libraries require S < L (no malleability).
        var s = new BigInteger(sig.AsSpan(32), isUnsigned: true, isBigEndian: false) + L;
        var malleable = (byte[])sig.Clone();
        s.TryWriteBytes(malleable.AsSpan(32), out _, isUnsigned: true, isBigEndian: false);
        AssertVerdict(false, publicKey, message, malleable, "S + L");

        for (var bit = 0; bit < 512; bit += 37)
        {
            var flipped = (byte[])sig.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertVerdict(false, publicKey, message, flipped, $"signature bit {bit}");
        }
        var wrongKey = (byte[])publicKey.Clone();
        wrongKey[5] ^= 0x10;
        AssertVerdict(false, wrongKey, message, sig, "another key");
        AssertVerdict(false, publicKey, "other"u8.ToArray(), sig, "another message");

        // y values on no point (for A and for R), and non-canonical y ≥ p naming real points.
        var offCurve = Enumerable.Range(2, 60).Select(y => EncodeRaw(y, 0)).First(e => Decode(e) is null);
        AssertVerdict(false, offCurve, message, sig, "A off the curve");
        var offCurveR = (byte[])sig.Clone();
        offCurve.CopyTo(offCurveR, 0);
        AssertVerdict(false, publicKey, message, offCurveR, "R off the curve");
        for (var y = 2; y < 19; y++)
        {
            var nonCanonical = EncodeRaw(P + y, 0);
            if (Decode(nonCanonical) is null) continue;
            AssertVerdict(false, nonCanonical, message, sig, $"A = p + {y}");
            var nonCanonicalR = (byte[])sig.Clone();
            nonCanonical.CopyTo(nonCanonicalR, 0);
            AssertVerdict(false, publicKey, message, nonCanonicalR, $"R = p + {y}");
        }
    }
}
