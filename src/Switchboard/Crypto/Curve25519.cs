using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Switchboard.Crypto;

/// <summary>
/// X25519 (RFC 7748) for the SecretConnection's ephemeral Diffie–Hellman. The BCL has no X25519: this seam uses
/// libsodium (<see cref="Sodium"/>) where it loads and BouncyCastle otherwise, with the same results; nothing else
/// in the library touches either. Temporary copies of private scalars are cleared before returning.
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
        if (Sodium.IsAvailable)
            Native.PublicKey(privateKey, publicKey);
        else
            Managed.PublicKey(privateKey, publicKey);
    }

    /// <summary>
    /// Computes X25519(<paramref name="privateKey"/>, <paramref name="peerPublicKey"/>) into
    /// <paramref name="sharedSecret"/>. Returns false, with <paramref name="sharedSecret"/> all zero, when the result
    /// is all zero, i.e. the peer sent a point of small order (Go's <c>curve25519.X25519</c> rejects exactly this;
    /// PROTOCOL.md 3.2 step 5). The check is constant time so it does not leak how many bytes of the secret are zero.
    /// </summary>
    public static bool TrySharedSecret(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> peerPublicKey, Span<byte> sharedSecret)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        CheckSize(peerPublicKey.Length, nameof(peerPublicKey));
        CheckSize(sharedSecret.Length, nameof(sharedSecret));
        return Sodium.IsAvailable
            ? Native.TrySharedSecret(privateKey, peerPublicKey, sharedSecret)
            : Managed.TrySharedSecret(privateKey, peerPublicKey, sharedSecret);
    }

    private static bool IsAllZero(ReadOnlySpan<byte> value)
    {
        Span<byte> zero = stackalloc byte[KeySize];
        zero.Clear();
        return CryptographicOperations.FixedTimeEquals(value, zero);
    }

    /// <summary>libsodium. Internal so the tests can hold it against <see cref="Managed"/>.</summary>
    internal static class Native
    {
        public static void PublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
        {
            if (Sodium.crypto_scalarmult_curve25519_base(publicKey, privateKey) != 0)
                throw new CryptographicException("X25519 base point multiplication failed");
        }

        public static bool TrySharedSecret(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> peerPublicKey, Span<byte> sharedSecret)
        {
            // −1: the peer's point has small order, which is exactly when the result would be all zero (every clamped
            // scalar is a multiple of the cofactor 8). The zero check stays ours so both backends answer alike.
            if (Sodium.crypto_scalarmult_curve25519(sharedSecret, privateKey, peerPublicKey) != 0)
            {
                CryptographicOperations.ZeroMemory(sharedSecret);
                return false;
            }
            return !IsAllZero(sharedSecret);
        }
    }

    /// <summary>BouncyCastle, the fallback where libsodium does not load. Internal for the tests.</summary>
    internal static class Managed
    {
        public static void PublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey) =>
            X25519.ScalarMultBase(privateKey, publicKey);

        public static bool TrySharedSecret(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> peerPublicKey, Span<byte> sharedSecret)
        {
            X25519.ScalarMult(privateKey, peerPublicKey, sharedSecret);
            return !IsAllZero(sharedSecret);
        }
    }

    private static void CheckSize(int length, string name)
    {
        if (length != KeySize)
            throw new ArgumentException("X25519 keys are 32 bytes", name);
    }
}
