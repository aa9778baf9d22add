using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Switchboard.Crypto;

/// <summary>
/// X25519 (RFC 7748) for the SecretConnection's ephemeral Diffie–Hellman. The BCL has no X25519, so this seam
/// wraps BouncyCastle; nothing else in the library touches BouncyCastle's curve code. Temporary copies of
/// private scalars are cleared before returning.
/// </summary>
internal static class Curve25519
{
    /// <summary>32: X25519 scalars, points and shared secrets are 32 bytes.</summary>
    public const int KeySize = 32;

    /// <summary>Fills <paramref name="privateKey"/> with 32 random bytes (X25519 clamps on use).</summary>
    public static void GeneratePrivateKey(Span<byte> privateKey)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        RandomNumberGenerator.Fill(privateKey);
    }

    /// <summary>Computes the public key X25519(<paramref name="privateKey"/>, 9).</summary>
    public static void PublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        CheckSize(publicKey.Length, nameof(publicKey));
        var k = privateKey.ToArray();
        var r = new byte[KeySize];
        try
        {
            X25519.ScalarMultBase(k, 0, r, 0);
            r.CopyTo(publicKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(k);
        }
    }

    /// <summary>
    /// Computes X25519(<paramref name="privateKey"/>, <paramref name="peerPublicKey"/>) into
    /// <paramref name="sharedSecret"/>. Returns false when the result is all zero, i.e. the peer sent a point of
    /// small order (Go's <c>curve25519.X25519</c> rejects exactly this; PROTOCOL.md 3.2 step 5). The check is
    /// constant time so it does not leak how many bytes of the secret are zero.
    /// </summary>
    public static bool TrySharedSecret(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> peerPublicKey, Span<byte> sharedSecret)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        CheckSize(peerPublicKey.Length, nameof(peerPublicKey));
        CheckSize(sharedSecret.Length, nameof(sharedSecret));
        var k = privateKey.ToArray();
        var u = peerPublicKey.ToArray();
        var r = new byte[KeySize];
        try
        {
            X25519.ScalarMult(k, 0, u, 0, r, 0);
            r.CopyTo(sharedSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(k);
            CryptographicOperations.ZeroMemory(r);
        }
        Span<byte> zero = stackalloc byte[KeySize];
        zero.Clear();
        return !CryptographicOperations.FixedTimeEquals(sharedSecret, zero);
    }

    private static void CheckSize(int length, string name)
    {
        if (length != KeySize)
            throw new ArgumentException("X25519 keys are 32 bytes", name);
    }
}
