extern alias BC2;
extern alias PortableBC;

using BenchmarkDotNet.Attributes;
using NSec.Cryptography;
using Switchboard.Crypto;
using Bc2Ed25519 = BC2::Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;
using Bc2X25519 = BC2::Org.BouncyCastle.Math.EC.Rfc7748.X25519;
using OldEd25519 = PortableBC::Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;
using OldX25519 = PortableBC::Org.BouncyCastle.Math.EC.Rfc7748.X25519;

namespace Switchboard.Benchmarks;

/// <summary>
/// The X25519 and Ed25519 operations of one handshake side (X25519 base and variable-point multiplication,
/// Ed25519 sign and verify) with each candidate backend: Portable.BouncyCastle 1.8.10 (frozen), its successor
/// BouncyCastle.Cryptography 2.x, NSec (libsodium), and the library's own seam (<see cref="Curve25519"/>,
/// <see cref="Ed25519Signer"/>, whatever backend it uses). Each call is what the handshake does per connection,
/// including the key import a backend needs (NSec's Key/PublicKey objects); the node key is imported once, as
/// the library does. <see cref="Setup"/> checks every backend gives the same bytes, so a fast wrong answer fails.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class CryptoBackendBenchmarks
{
    public enum Backend { PortableBouncyCastle18, BouncyCastle27, NSec, Library }

    [Params(Backend.PortableBouncyCastle18, Backend.BouncyCastle27, Backend.NSec, Backend.Library)]
    public Backend Candidate { get; set; }

    private readonly byte[] _scalar = new byte[32];
    private readonly byte[] _point = new byte[32];
    private readonly byte[] _seed = new byte[32];
    private readonly byte[] _publicKey = new byte[32];
    private readonly byte[] _message = new byte[32];
    private readonly byte[] _signature = new byte[64];
    private readonly byte[] _out = new byte[64];
    private Key _nsecSigningKey = null!;
    private NodeKey _nodeKey = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(25519);
        random.NextBytes(_scalar);
        random.NextBytes(_seed);
        random.NextBytes(_message);
        // The peer's point: a real public key, as in a handshake.
        var peerScalar = new byte[32];
        random.NextBytes(peerScalar);
        OldX25519.ScalarMultBase(peerScalar, 0, _point, 0);
        OldEd25519.GeneratePublicKey(_seed, 0, _publicKey, 0);
        OldEd25519.Sign(_seed, 0, _publicKey, 0, _message, 0, _message.Length, _signature, 0);
        _nsecSigningKey = Key.Import(SignatureAlgorithm.Ed25519, _seed, KeyBlobFormat.RawPrivateKey);
        _nodeKey = NodeKey.FromSeed(_seed);

        var expectedBase = new byte[32];
        var expectedShared = new byte[32];
        OldX25519.ScalarMultBase(_scalar, 0, expectedBase, 0);
        OldX25519.ScalarMult(_scalar, 0, _point, 0, expectedShared, 0);
        Check(ScalarMultBase(), expectedBase, "X25519 base");
        Check(ScalarMult(), expectedShared, "X25519");
        Check(Sign(), _signature, "Ed25519 sign");
        if (!Verify())
            throw new InvalidOperationException($"{Candidate}: Ed25519 verify rejected a good signature");
    }

    private static void Check(byte[] actual, byte[] expected, string what)
    {
        if (!actual.AsSpan(0, expected.Length).SequenceEqual(expected))
            throw new InvalidOperationException($"{what}: the candidate's output differs from Portable.BouncyCastle's");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _nsecSigningKey.Dispose();
        _nodeKey.Dispose();
    }

    /// <summary>X25519(k, 9): the ephemeral public key.</summary>
    [Benchmark]
    public byte[] ScalarMultBase()
    {
        switch (Candidate)
        {
            case Backend.PortableBouncyCastle18:
                OldX25519.ScalarMultBase(_scalar, 0, _out, 0);
                break;
            case Backend.BouncyCastle27:
                Bc2X25519.ScalarMultBase(_scalar, 0, _out, 0);
                break;
            case Backend.NSec:
                using (var key = Key.Import(KeyAgreementAlgorithm.X25519, _scalar, KeyBlobFormat.RawPrivateKey))
                    key.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, _out, out _);
                break;
            default:
                Curve25519.PublicKey(_scalar, _out.AsSpan(0, 32));
                break;
        }
        return _out;
    }

    /// <summary>X25519(k, peer): the DH secret.</summary>
    [Benchmark]
    public byte[] ScalarMult()
    {
        switch (Candidate)
        {
            case Backend.PortableBouncyCastle18:
                OldX25519.ScalarMult(_scalar, 0, _point, 0, _out, 0);
                break;
            case Backend.BouncyCastle27:
                Bc2X25519.ScalarMult(_scalar, 0, _point, 0, _out, 0);
                break;
            case Backend.NSec:
                // Import computes the public key too (one base multiplication) — NSec has no way to skip it.
                using (var key = Key.Import(KeyAgreementAlgorithm.X25519, _scalar, KeyBlobFormat.RawPrivateKey))
                using (var secret = KeyAgreementAlgorithm.X25519.Agree(key,
                           PublicKey.Import(KeyAgreementAlgorithm.X25519, _point, KeyBlobFormat.RawPublicKey),
                           new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })!)
                    secret.TryExport(SharedSecretBlobFormat.RawSharedSecret, _out, out _);
                break;
            default:
                Curve25519.TrySharedSecret(_scalar, _point, _out.AsSpan(0, 32));
                break;
        }
        return _out;
    }

    /// <summary>Ed25519 signature of the 32-byte challenge with the node key.</summary>
    [Benchmark]
    public byte[] Sign()
    {
        switch (Candidate)
        {
            case Backend.PortableBouncyCastle18:
                OldEd25519.Sign(_seed, 0, _publicKey, 0, _message, 0, _message.Length, _out, 0);
                break;
            case Backend.BouncyCastle27:
                Bc2Ed25519.Sign(_seed, 0, _publicKey, 0, _message, 0, _message.Length, _out, 0);
                break;
            case Backend.NSec:
                SignatureAlgorithm.Ed25519.Sign(_nsecSigningKey, _message, _out);
                break;
            default:
                _nodeKey.Sign(_message, _out);
                break;
        }
        return _out;
    }

    /// <summary>Ed25519 verification of the peer's challenge signature.</summary>
    [Benchmark]
    public bool Verify() => Candidate switch
    {
        Backend.PortableBouncyCastle18 => OldEd25519.Verify(_signature, 0, _publicKey, 0, _message, 0, _message.Length),
        Backend.BouncyCastle27 => Bc2Ed25519.Verify(_signature, 0, _publicKey, 0, _message, 0, _message.Length),
        Backend.NSec => SignatureAlgorithm.Ed25519.Verify(
            PublicKey.Import(SignatureAlgorithm.Ed25519, _publicKey, KeyBlobFormat.RawPublicKey), _message, _signature),
        _ => Ed25519Signer.Verify(_publicKey, _message, _signature),
    };
}
