using System.Runtime.InteropServices;

namespace Switchboard.Crypto;

/// <summary>
/// The few libsodium functions behind <see cref="Curve25519"/> and <see cref="Ed25519Signer"/>: X25519 and Ed25519
/// sign/verify, called directly (no key objects, no copies). The native library is the one the libsodium package
/// ships for each runtime (linux/musl/osx/win, x64/arm64…). Where it cannot be loaded, <see cref="IsAvailable"/> is
/// false and the seams use BouncyCastle instead; either way the results are the same (the tests check it).
/// </summary>
/// <remarks>
/// Why libsodium: CryptoBackendBenchmarks measured it fastest for every operation of the handshake. One run on the
/// shared 2-core machine (load average ~25, so absolute times are inflated; the order held in every run), µs per
/// X25519 base / X25519 / Ed25519 sign / verify: Portable.BouncyCastle 1.8.10 139 / 298 / 219 / 411;
/// BouncyCastle.Cryptography 2.7.0 149 / 425 / 194 / 450; NSec's key objects over libsodium 174 / 449 / 72 / 271;
/// libsodium called directly (this class) 69 / 129 / 86 / 167, with no allocation. Its checks on untrusted input are
/// the ones we enforce anyway (small-order points rejected, S &lt; L, canonical y, cofactorless equation), so the
/// explicit checks in the seams stay the definition of what we accept, whatever the backend.
/// </remarks>
internal static partial class Sodium
{
    private const string Library = "libsodium";

    /// <summary>Whether libsodium loaded and initialised; computed once.</summary>
    public static bool IsAvailable { get; } = TryInitialize();

    private static bool TryInitialize()
    {
        try
        {
            // 0: initialised now, 1: already initialised (by NSec or another user in the process), -1: failed.
            return sodium_init() >= 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    /// <summary>q = X25519(n, 9).</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519_base(Span<byte> q, ReadOnlySpan<byte> n);

    /// <summary>q = X25519(n, p); −1 when the result would be all zero (p of small order), q then unspecified.</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519(Span<byte> q, ReadOnlySpan<byte> n, ReadOnlySpan<byte> p);

    /// <summary>pk and sk = seed ‖ pk from a 32-byte seed.</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_seed_keypair(Span<byte> pk, Span<byte> sk, ReadOnlySpan<byte> seed);

    /// <summary>A 64-byte detached signature of m with sk = seed ‖ pk (deterministic, RFC 8032).</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_detached(Span<byte> sig, out ulong sigLength, ReadOnlySpan<byte> m, ulong mLength,
        ReadOnlySpan<byte> sk);

    /// <summary>0 when sig is a valid signature of m by pk.</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_verify_detached(ReadOnlySpan<byte> sig, ReadOnlySpan<byte> m, ulong mLength,
        ReadOnlySpan<byte> pk);
}
