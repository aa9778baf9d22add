using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Switchboard.Crypto;

/// <summary>
/// Pure Ed25519 (RFC 8032) for node keys and the handshake signature. The BCL has no Ed25519, so this seam
/// wraps BouncyCastle. Private seeds are copied into temporary arrays only for the call and cleared after.
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
        var sk = seed.ToArray();
        var pk = new byte[PublicKeySize];
        try
        {
            Ed25519.GeneratePublicKey(sk, 0, pk, 0);
            pk.CopyTo(publicKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sk);
        }
    }

    /// <summary>Signs <paramref name="message"/> with the key (<paramref name="seed"/>, <paramref name="publicKey"/>).</summary>
    public static void Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, Span<byte> signature)
    {
        Check(seed.Length, SeedSize, nameof(seed));
        Check(publicKey.Length, PublicKeySize, nameof(publicKey));
        Check(signature.Length, SignatureSize, nameof(signature));
        var sk = seed.ToArray();
        var pk = publicKey.ToArray();
        var m = message.ToArray();
        var sig = new byte[SignatureSize];
        try
        {
            Ed25519.Sign(sk, 0, pk, 0, m, 0, m.Length, sig, 0);
            sig.CopyTo(signature);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sk);
        }
    }

    /// <summary>
    /// Verifies a signature. Malformed keys or signatures (wrong length, not on the curve, non-canonical S)
    /// return false rather than throwing: everything here comes from a peer.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
            return false;
        try
        {
            return Ed25519.Verify(signature.ToArray(), 0, publicKey.ToArray(), 0, message.ToArray(), 0, message.Length);
        }
        catch (ArgumentException)
        {
            // BouncyCastle throws for some malformed encodings instead of returning false.
            return false;
        }
    }

    private static void Check(int length, int expected, string name)
    {
        if (length != expected)
            throw new ArgumentException($"expected {expected} bytes", name);
    }
}
