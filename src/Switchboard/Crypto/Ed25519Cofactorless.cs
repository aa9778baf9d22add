using System.Numerics;
using System.Security.Cryptography;

namespace Switchboard.Crypto;

/// <summary>
/// RFC 8032 verification with the cofactorless equation, [S]B = R + [k]A with R compared as an encoding, written
/// out on <see cref="BigInteger"/> (extended twisted Edwards coordinates). Slow — a few milliseconds — and variable
/// time, which is safe here: every input is public (key, message, signature). Used only by the managed fallback of
/// <see cref="Ed25519Signer"/> for the inputs where BouncyCastle's cofactored check could answer differently,
/// i.e. a key or an R with a torsion component, which no honest peer sends.
/// </summary>
internal static class Ed25519Cofactorless
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");
    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger D2 = Mod(2 * D);
    private static readonly BigInteger SqrtMinusOne = BigInteger.ModPow(2, (P - 1) / 4, P);
    private static readonly Point Identity = new(0, 1, 1, 0);
    private static readonly Point Base = BasePoint();

    private readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T);

    /// <summary>Whether <paramref name="signature"/> (R ‖ S) satisfies [S]B = R + [k]A for <paramref name="publicKey"/>.</summary>
    /// <remarks>
    /// A must decode strictly (y &lt; p, on the curve, no "−0" x) and S must be below L, as in libsodium; R need not
    /// decode: it is compared with the encoding of [S]B − [k]A, which is canonical, so a non-canonical or
    /// off-curve R never matches.
    /// </remarks>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64) return false;
        var s = new BigInteger(signature[32..], isUnsigned: true, isBigEndian: false);
        if (s >= L) return false;
        if (Decode(publicKey) is not { } a) return false;
        var hash = SHA512.HashData([.. signature[..32], .. publicKey, .. message]);
        var k = new BigInteger(hash, isUnsigned: true, isBigEndian: false) % L;
        var check = Add(Multiply(s, Base), Multiply(k, Negate(a)));
        Span<byte> encoded = stackalloc byte[32];
        Encode(check, encoded);
        return encoded.SequenceEqual(signature[..32]);
    }

    private static BigInteger Mod(BigInteger a)
    {
        var r = a % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger a) => BigInteger.ModPow(Mod(a), P - 2, P);

    private static Point BasePoint()
    {
        // y = 4/5 with x even (RFC 8032 section 5.1).
        var y = Mod(4 * Inverse(5));
        var x = RecoverX(y, 0) ?? throw new InvalidOperationException("the base point's y is on no point");
        return new Point(x, y, 1, Mod(x * y));
    }

    private static BigInteger? RecoverX(BigInteger y, int sign)
    {
        // x² = (y² − 1) / (d·y² + 1); p ≡ 5 (mod 8), so a root is u^((p+3)/8), times √−1 if that squares to −u.
        var u = Mod((y * y - 1) * Inverse(D * y * y + 1));
        var x = BigInteger.ModPow(u, (P + 3) / 8, P);
        if (Mod(x * x - u) != 0) x = Mod(x * SqrtMinusOne);
        if (Mod(x * x - u) != 0) return null;
        if (x == 0 && sign == 1) return null;
        if ((int)(x % 2) != sign) x = P - x;
        return x;
    }

    private static Point? Decode(ReadOnlySpan<byte> encoded)
    {
        Span<byte> bytes = stackalloc byte[32];
        encoded.CopyTo(bytes);
        var sign = bytes[31] >> 7;
        bytes[31] &= 0x7F;
        var y = new BigInteger(bytes, isUnsigned: true, isBigEndian: false);
        if (y >= P) return null;
        return RecoverX(y, sign) is { } x ? new Point(x, y, 1, Mod(x * y)) : null;
    }

    private static void Encode(Point q, Span<byte> destination)
    {
        var zInverse = Inverse(q.Z);
        var x = Mod(q.X * zInverse);
        var y = Mod(q.Y * zInverse);
        destination.Clear();
        y.TryWriteBytes(destination, out _, isUnsigned: true, isBigEndian: false);
        if (!x.IsEven) destination[31] |= 0x80;
    }

    private static Point Negate(Point q) => new(Mod(-q.X), q.Y, q.Z, Mod(-q.T));

    /// <summary>The unified addition for a = −1 (Hisil–Wong–Carter–Dawson 2008, "add-2008-hwcd-3"); complete, since d is not a square.</summary>
    private static Point Add(Point p, Point q)
    {
        var a = Mod((p.Y - p.X) * (q.Y - q.X));
        var b = Mod((p.Y + p.X) * (q.Y + q.X));
        var c = Mod(p.T * D2 % P * q.T);
        var d = Mod(2 * p.Z * q.Z);
        var e = b - a;
        var f = d - c;
        var g = d + c;
        var h = b + a;
        return new Point(Mod(e * f), Mod(g * h), Mod(f * g), Mod(e * h));
    }

    private static Point Multiply(BigInteger k, Point q)
    {
        var result = Identity;
        for (var bit = (int)k.GetBitLength() - 1; bit >= 0; bit--)
        {
            result = Add(result, result);
            if (!(k >> bit).IsEven) result = Add(result, q);
        }
        return result;
    }
}
