using System.Numerics;
using System.Security.Cryptography;

namespace Switchboard.Tests.Crypto;

/// <summary>
/// Textbook Ed25519 curve arithmetic (RFC 8032 section 5.1) on <see cref="BigInteger"/>, affine coordinates, for
/// tests only: slow, not constant time, and independent of the libsodium and BouncyCastle code the library uses, so tests can
/// build points and signatures the library must refuse and check its small-order list against the curve itself.
/// </summary>
internal static class Ed25519Reference
{
    public static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    /// <summary>The order of the prime subgroup: 2^252 + 27742317777372353535851937790883648493.</summary>
    public static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");

    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger SqrtMinusOne = BigInteger.ModPow(2, (P - 1) / 4, P);

    public static readonly (BigInteger X, BigInteger Y) Identity = (0, 1);

    /// <summary>The base point: y = 4/5, x even.</summary>
    public static readonly (BigInteger X, BigInteger Y) B = BasePoint();

    private static (BigInteger X, BigInteger Y) BasePoint()
    {
        var y = Mod(4 * Inverse(5));
        return (RecoverX(y, 0) ?? throw new InvalidOperationException("4/5 is no y"), y);
    }

    public static BigInteger Mod(BigInteger a)
    {
        var r = a % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger a) => BigInteger.ModPow(Mod(a), P - 2, P);

    public static bool OnCurve((BigInteger X, BigInteger Y) q)
    {
        var (x2, y2) = (q.X * q.X, q.Y * q.Y);
        return Mod(-x2 + y2 - 1 - D * x2 % P * y2) == 0;
    }

    /// <summary>The complete twisted Edwards addition (a = −1; d is not a square, so no exceptions).</summary>
    public static (BigInteger X, BigInteger Y) Add((BigInteger X, BigInteger Y) p1, (BigInteger X, BigInteger Y) p2)
    {
        var t = Mod(D * p1.X % P * p2.X % P * p1.Y % P * p2.Y);
        var x = Mod((p1.X * p2.Y + p1.Y * p2.X) % P * Inverse(1 + t));
        var y = Mod((p1.Y * p2.Y + p1.X * p2.X) % P * Inverse(1 - t));
        return (x, y);
    }

    public static (BigInteger X, BigInteger Y) Negate((BigInteger X, BigInteger Y) q) => (Mod(-q.X), q.Y);

    public static (BigInteger X, BigInteger Y) Multiply(BigInteger k, (BigInteger X, BigInteger Y) q)
    {
        var result = Identity;
        var addend = q;
        for (k = BigInteger.Abs(k); k > 0; k >>= 1)
        {
            if (!k.IsEven) result = Add(result, addend);
            addend = Add(addend, addend);
        }
        return result;
    }

    /// <summary>32 bytes: y little-endian, the top bit the parity of x.</summary>
    public static byte[] Encode((BigInteger X, BigInteger Y) q) => EncodeRaw(q.Y, (int)(q.X % 2));

    /// <summary>Any 255-bit y (also y ≥ p) with a sign bit, as the bytes of an encoding.</summary>
    public static byte[] EncodeRaw(BigInteger y, int sign)
    {
        var bytes = new byte[32];
        y.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        if (sign != 0) bytes[31] |= 0x80;
        return bytes;
    }

    /// <summary>
    /// Decodes leniently — y ≥ p is reduced, and a set sign bit with x = 0 is taken as x = 0 — so that
    /// non-canonical encodings name the point they would be read as; null when y is on no point.
    /// </summary>
    public static (BigInteger X, BigInteger Y)? Decode(ReadOnlySpan<byte> encoded)
    {
        var bytes = encoded.ToArray();
        var sign = bytes[31] >> 7;
        bytes[31] &= 0x7F;
        var y = Mod(new BigInteger(bytes, isUnsigned: true, isBigEndian: false));
        return RecoverX(y, sign) is { } x ? (x, y) : null;
    }

    private static BigInteger? RecoverX(BigInteger y, int sign)
    {
        // x² = (y² − 1) / (d·y² + 1); p ≡ 5 (mod 8), so a root is u^((p+3)/8), times √−1 if that squares to −u.
        var u = Mod((y * y - 1) * Inverse(D * y * y + 1));
        var x = BigInteger.ModPow(u, (P + 3) / 8, P);
        if (Mod(x * x - u) != 0) x = Mod(x * SqrtMinusOne);
        if (Mod(x * x - u) != 0) return null;
        if (x != 0 && (int)(x % 2) != sign) x = P - x;
        return x;
    }

    /// <summary>SHA-512(<paramref name="r"/> ‖ <paramref name="a"/> ‖ <paramref name="message"/>) mod L, the k of verification.</summary>
    public static BigInteger Challenge(ReadOnlySpan<byte> r, ReadOnlySpan<byte> a, ReadOnlySpan<byte> message)
    {
        var hash = SHA512.HashData([.. r, .. a, .. message]);
        return new BigInteger(hash, isUnsigned: true, isBigEndian: false) % L;
    }

    /// <summary>The secret scalar of an RFC 8032 seed: the clamped first half of SHA-512(seed).</summary>
    public static BigInteger SecretScalar(ReadOnlySpan<byte> seed)
    {
        var h = SHA512.HashData(seed)[..32];
        h[0] &= 248;
        h[31] &= 127;
        h[31] |= 64;
        return new BigInteger(h, isUnsigned: true, isBigEndian: false);
    }

    /// <summary>A 64-byte signature R ‖ S with S as a 32-byte little-endian scalar.</summary>
    public static byte[] Signature(ReadOnlySpan<byte> r, BigInteger s)
    {
        var sig = new byte[64];
        r.CopyTo(sig);
        (s % L).TryWriteBytes(sig.AsSpan(32), out _, isUnsigned: true, isBigEndian: false);
        return sig;
    }

    /// <summary>
    /// The 8 points of small order, found from the curve alone: [L]Q lies in the 8-torsion for any point Q (the
    /// group order is 8·L), and the torsion group is cyclic, so the multiples of one such point of order 8 are all 8.
    /// </summary>
    public static IReadOnlyList<(BigInteger X, BigInteger Y)> SmallOrderPoints()
    {
        var random = new Random(8);
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var bytes = new byte[32];
            random.NextBytes(bytes);
            if (Decode(bytes) is not { } q) continue;
            var t = Multiply(L, q);
            var multiples = Enumerable.Range(0, 8).Select(i => Multiply(i, t)).Distinct().ToList();
            if (multiples.Count == 8) return multiples;
        }
        throw new InvalidOperationException("no point of order 8 found");
    }

    /// <summary>
    /// A signature by nobody that verifies under the cofactorless RFC 8032 equation [S]B = R + [k]A for a public key
    /// A of small order: R = [r]B + T, S = r, which holds when T = −[k]A. k depends on R, so r and T are tried until
    /// it holds (for each r one of the 8 values of T fits with probability about 1/8).
    /// </summary>
    public static byte[] ForgeForSmallOrderKey(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message)
    {
        var a = Decode(publicKey) ?? throw new ArgumentException("not a point", nameof(publicKey));
        var torsion = SmallOrderPoints();
        for (BigInteger r = 1; r < 1000; r++)
        {
            var rb = Multiply(r, B);
            foreach (var t in torsion)
            {
                var encodedR = Encode(Add(rb, t));
                var k = Challenge(encodedR, publicKey, message);
                if (Add(t, Multiply(k % 8, a)) == Identity) return Signature(encodedR, r);
            }
        }
        throw new InvalidOperationException("no forgery found");
    }

    /// <summary>
    /// RFC 8032 section 5.1.7 verification alone, cofactorless: A and R decode strictly (y &lt; p, no "−0" x), S &lt; L,
    /// and [S]B = R + [k]A. No small-order check: this is the equation a forgery for a small-order key satisfies.
    /// </summary>
    public static bool VerifiesCofactorless(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64) return false;
        var s = new BigInteger(signature[32..], isUnsigned: true, isBigEndian: false);
        if (s >= L) return false;
        if (DecodeStrict(publicKey) is not { } a || DecodeStrict(signature[..32]) is not { } r) return false;
        var k = Challenge(signature[..32], publicKey, message);
        return Multiply(s, B) == Add(r, Multiply(k, a));
    }

    /// <summary>RFC 8032 section 5.1.3 decoding: null for y ≥ p, for a y on no point, and for x = 0 with the sign bit set.</summary>
    public static (BigInteger X, BigInteger Y)? DecodeStrict(ReadOnlySpan<byte> encoded)
    {
        var bytes = encoded.ToArray();
        var sign = bytes[31] >> 7;
        bytes[31] &= 0x7F;
        var y = new BigInteger(bytes, isUnsigned: true, isBigEndian: false);
        if (y >= P) return null;
        if (RecoverX(y, sign) is not { } x) return null;
        if (x == 0 && sign == 1) return null;
        return (x, y);
    }

    /// <summary>
    /// R ‖ S for the secret scalar <paramref name="a"/> and the nonce point [<paramref name="r"/>]B + <paramref name="rOffset"/>,
    /// hashed with the given public key bytes (which need not be [a]B): S = r + k·a mod L.
    /// </summary>
    public static byte[] SignWith(BigInteger a, BigInteger r, (BigInteger X, BigInteger Y) rOffset, ReadOnlySpan<byte> publicKey,
        ReadOnlySpan<byte> message)
    {
        var encodedR = Encode(Add(Multiply(r, B), rOffset));
        var k = Challenge(encodedR, publicKey, message);
        return Signature(encodedR, r + k * a);
    }
}
