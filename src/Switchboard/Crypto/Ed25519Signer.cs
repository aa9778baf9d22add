using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Switchboard.Crypto;

/// <summary>
/// Pure Ed25519 (RFC 8032) for node keys and the handshake signature. The BCL has no Ed25519: this seam uses
/// libsodium (<see cref="Sodium"/>) where it loads and BouncyCastle otherwise. Both sign deterministically, so they
/// produce the same signatures; what <see cref="Verify"/> accepts is fixed by the checks here, which are stricter
/// than either library needs, so it is the same with both. Temporary copies of private keys are cleared after use.
/// </summary>
internal static class Ed25519Signer
{
    /// <summary>32: an RFC 8032 private seed.</summary>
    public const int SeedSize = 32;

    /// <summary>32: an encoded public key.</summary>
    public const int PublicKeySize = 32;

    /// <summary>64: a signature (R ‖ S).</summary>
    public const int SignatureSize = 64;

    /// <summary>Derives the public key of <paramref name="seed"/>.</summary>
    public static void PublicKeyFromSeed(ReadOnlySpan<byte> seed, Span<byte> publicKey)
    {
        Check(seed.Length, SeedSize, nameof(seed));
        Check(publicKey.Length, PublicKeySize, nameof(publicKey));
        if (Sodium.IsAvailable)
            Native.PublicKeyFromSeed(seed, publicKey);
        else
            Managed.PublicKeyFromSeed(seed, publicKey);
    }

    /// <summary>Signs <paramref name="message"/> with the key (<paramref name="seed"/>, <paramref name="publicKey"/>).</summary>
    public static void Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, Span<byte> signature)
    {
        Check(seed.Length, SeedSize, nameof(seed));
        Check(publicKey.Length, PublicKeySize, nameof(publicKey));
        Check(signature.Length, SignatureSize, nameof(signature));
        if (Sodium.IsAvailable)
            Native.Sign(seed, publicKey, message, signature);
        else
            Managed.Sign(seed, publicKey, message, signature);
    }

    /// <summary>
    /// Verifies a signature (cofactorless: [S]B = R + [k]A, with R compared as an encoding). Malformed keys or
    /// signatures (wrong length, not on the curve, non-canonical y or S) return false rather than throwing:
    /// everything here comes from a peer. So do a public key or an R of small order (<see cref="HasSmallOrder"/>),
    /// which RFC 8032's check alone would accept.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
            return false;
        if (HasSmallOrder(publicKey) || HasSmallOrder(signature[..PublicKeySize]))
            return false;
        return Sodium.IsAvailable ? Native.Verify(publicKey, message, signature) : Managed.Verify(publicKey, message, signature);
    }

    /// <summary>libsodium. Internal so the tests can hold it against <see cref="Managed"/>.</summary>
    internal static class Native
    {
        public static void PublicKeyFromSeed(ReadOnlySpan<byte> seed, Span<byte> publicKey)
        {
            Span<byte> sk = stackalloc byte[SeedSize + PublicKeySize];
            try
            {
                if (Sodium.crypto_sign_ed25519_seed_keypair(publicKey, sk, seed) != 0)
                    throw new CryptographicException("Ed25519 key derivation failed");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(sk);
            }
        }

        public static void Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, Span<byte> signature)
        {
            // libsodium's secret key is Go's layout, seed ‖ public key; it hashes the public key half as given, as
            // BouncyCastle does with its separate argument.
            Span<byte> sk = stackalloc byte[SeedSize + PublicKeySize];
            try
            {
                seed.CopyTo(sk);
                publicKey.CopyTo(sk[SeedSize..]);
                if (Sodium.crypto_sign_ed25519_detached(signature, out _, message, (ulong)message.Length, sk) != 0)
                    throw new CryptographicException("Ed25519 signing failed");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(sk);
            }
        }

        /// <summary>
        /// libsodium's own checks (S &lt; L, R and A not of small order, A canonical and on the curve) are the ones
        /// <see cref="Ed25519Signer.Verify"/> makes or BouncyCastle makes; the equation is the same cofactorless one.
        /// </summary>
        public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
            Sodium.crypto_sign_ed25519_verify_detached(signature, message, (ulong)message.Length, publicKey) == 0;
    }

    /// <summary>BouncyCastle, the fallback where libsodium does not load. Internal for the tests.</summary>
    internal static class Managed
    {
        public static void PublicKeyFromSeed(ReadOnlySpan<byte> seed, Span<byte> publicKey) =>
            Ed25519.GeneratePublicKey(seed, publicKey);

        public static void Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, Span<byte> signature) =>
            Ed25519.Sign(seed, publicKey, message, signature);

        /// <summary>
        /// BouncyCastle 2.x verifies cofactored ([8][S]B = [8]R + [8][k]A), unlike libsodium and the Portable.BouncyCastle
        /// 1.8 this library used before, which check [S]B = R + [k]A exactly; the two differ only when A or R has a
        /// torsion component, which an honest key or signature never has. So BouncyCastle decides when both are in the
        /// prime-order subgroup (there the two equations are equivalent: the difference of the sides lies in that
        /// subgroup, where [8]D = 0 forces D = 0), and <see cref="Ed25519Cofactorless"/> decides the rest.
        /// </summary>
        public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
        {
            try
            {
                if (!Ed25519.ValidatePublicKeyFull(publicKey) || !Ed25519.ValidatePublicKeyFull(signature[..PublicKeySize]))
                    return Ed25519Cofactorless.Verify(publicKey, message, signature);
                return Ed25519.Verify(signature, publicKey, message);
            }
            catch (ArgumentException)
            {
                // BouncyCastle throws for some malformed encodings instead of returning false.
                return false;
            }
        }
    }

    /// <summary>
    /// Whether the 32-byte <paramref name="point"/> encodes one of the 8 points of small order (order 1, 2, 4 or 8:
    /// the identity, (0, −1), (±√−1, 0) and the four points of order 8), canonically or not.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Why: a public key A of small order satisfies the verification equation [S]B = R + [k]A for a signature
    /// anyone can make — for the identity, R = identity and S = 0 verify for every message; for the others a few
    /// tries of R = [r]B + T with S = r succeed — so such a key authenticates nobody, and every node that "holds" it
    /// has the same node ID. A signature whose R has small order is never produced by an honest signer (its nonce
    /// would be 0 mod L) and, with R = identity, S = k·a reveals the signer's private scalar.
    /// </para>
    /// <para>
    /// Deviation from CometBFT: v0.38+ verifies with curve25519-voi under ZIP-215 rules, which accept small-order A
    /// and R by design (and v0.34/v0.37's x/crypto accepts a small-order A). Honest keys and signatures are never of
    /// small order, so refusing them costs no honest peer anything.
    /// </para>
    /// <para>
    /// How: by encoding, as libsodium's <c>has_small_order</c> does. The y coordinates of the 8 points are 0, 1,
    /// p − 1 and the two below (p = 2^255 − 19); an encoding is y (255 bits, little-endian) plus the sign bit of x,
    /// so with the sign bit cleared the canonical encodings of all 8 points are 5 values. The only non-canonical
    /// ones (y + p &lt; 2^255, so y &lt; 19) are p (≡ 0) and p + 1 (≡ 1); and for x = 0 (y = 1 and y = p − 1) a set sign
    /// bit is a non-canonical "−0". Comparing with the sign bit masked covers all of them. The test suite checks
    /// the list against the curve arithmetic.
    /// </para>
    /// </remarks>
    public static bool HasSmallOrder(ReadOnlySpan<byte> point)
    {
        Check(point.Length, PublicKeySize, nameof(point));
        Span<byte> y = stackalloc byte[PublicKeySize];
        point.CopyTo(y);
        y[^1] &= 0x7F; // the sign of x
        var list = SmallOrderEncodings;
        for (var i = 0; i < list.Length; i += PublicKeySize)
        {
            if (y.SequenceEqual(list.Slice(i, PublicKeySize)))
                return true;
        }
        return false;
    }

    // The 7 y values (little-endian, sign bit clear) of SmallOrderEncodings, in this order: 0 (order 4), 1 (the
    // identity), the order-8 y and p minus it, p − 1 (order 2), p (non-canonical 0), p + 1 (non-canonical 1).
    private static ReadOnlySpan<byte> SmallOrderEncodings =>
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,

        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,

        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
        0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,

        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
        0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,

        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,

        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,

        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ];

    private static void Check(int length, int expected, string name)
    {
        if (length != expected)
            throw new ArgumentException($"expected {expected} bytes", name);
    }
}
