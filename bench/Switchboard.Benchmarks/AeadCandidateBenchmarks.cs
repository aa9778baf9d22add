using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using NSec.Cryptography;
using Switchboard.Conn;

namespace Switchboard.Benchmarks;

/// <summary>
/// The AEAD candidates for the record layer, per 1028-byte frame, on runs of 1, 2, 8 and 64 frames (a lone small
/// message, a 1 KiB message, 8 KiB, a 64 KiB write): the BCL's ChaCha20Poly1305 (the baseline), libsodium through
/// NSec, OpenSSL's EVP interface with one reused context (P/Invoke, Linux only), and our multi-frame AVX-512 and AVX2
/// paths (the AVX2 one runs on an AVX-512 machine too; there the JIT may encode it with EVEX and 32 registers).
/// Each invocation seals and then opens the run, so one operation = seal + open of one frame.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public unsafe class AeadCandidateBenchmarks
{
    private const int Sealed = SecretConnectionCipher.SealedFrameSize;
    private const int Frame = SecretConnectionCipher.FrameSize;

    [Params(1, 2, 8, 64)]
    public int Frames { get; set; }

    private readonly byte[] _key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private byte[] _buffer = [];
    private byte[] _plain = [];
    private System.Security.Cryptography.ChaCha20Poly1305 _bcl = null!;
    private SecretConnectionCipher _batchSeal = null!;
    private SecretConnectionCipher _batchOpen = null!;
    private SecretConnectionCipher _avx2Seal = null!;
    private SecretConnectionCipher _avx2Open = null!;
    private NSec.Cryptography.Key _sodiumKey = null!;
    private Evp? _evpSeal;
    private Evp? _evpOpen;
    private ulong _counter;

    [GlobalSetup]
    public void Setup()
    {
        _buffer = new byte[Frames * Sealed];
        _plain = new byte[Frame];
        new Random(1).NextBytes(_plain);
        _bcl = new System.Security.Cryptography.ChaCha20Poly1305(_key);
        if (FrameAead512.IsSupported)
        {
            _batchSeal = new SecretConnectionCipher(_key, 0, FrameAeadPath.Avx512);
            _batchOpen = new SecretConnectionCipher(_key, 0, FrameAeadPath.Avx512);
        }
        if (FrameAead256.IsSupported)
        {
            _avx2Seal = new SecretConnectionCipher(_key, 0, FrameAeadPath.Avx2);
            _avx2Open = new SecretConnectionCipher(_key, 0, FrameAeadPath.Avx2);
        }
        _sodiumKey = NSec.Cryptography.Key.Import(AeadAlgorithm.ChaCha20Poly1305, _key, KeyBlobFormat.RawSymmetricKey);
        if (OperatingSystem.IsLinux())
        {
            _evpSeal = new Evp(_key, encrypt: true);
            _evpOpen = new Evp(_key, encrypt: false);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bcl.Dispose();
        _batchSeal?.Dispose();
        _batchOpen?.Dispose();
        _avx2Seal?.Dispose();
        _avx2Open?.Dispose();
        _sodiumKey.Dispose();
        _evpSeal?.Dispose();
        _evpOpen?.Dispose();
    }

    private void Fill()
    {
        for (var i = 0; i < Frames; i++) _plain.CopyTo(_buffer, i * Sealed);
    }

    private static void Nonce(Span<byte> nonce, ulong counter)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    [Benchmark(Baseline = true)]
    public void Bcl()
    {
        Fill();
        Span<byte> nonce = stackalloc byte[12];
        var start = _counter;
        for (var i = 0; i < Frames; i++)
        {
            var f = _buffer.AsSpan(i * Sealed, Sealed);
            Nonce(nonce, start + (ulong)i);
            _bcl.Encrypt(nonce, f[..Frame], f[..Frame], f[Frame..]);
        }
        for (var i = 0; i < Frames; i++)
        {
            var f = _buffer.AsSpan(i * Sealed, Sealed);
            Nonce(nonce, start + (ulong)i);
            _bcl.Decrypt(nonce, f[..Frame], f[Frame..], f[..Frame]);
        }
        _counter += (ulong)Frames;
    }

    [Benchmark]
    public void Libsodium()
    {
        Fill();
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> sealedFrame = stackalloc byte[Sealed];
        var alg = AeadAlgorithm.ChaCha20Poly1305;
        var start = _counter;
        for (var i = 0; i < Frames; i++)
        {
            var f = _buffer.AsSpan(i * Sealed, Sealed);
            Nonce(nonce, start + (ulong)i);
            alg.Encrypt(_sodiumKey, nonce, default, f[..Frame], sealedFrame);
            sealedFrame.CopyTo(f); // NSec writes ciphertext ‖ tag and does not seal in place
        }
        for (var i = 0; i < Frames; i++)
        {
            var f = _buffer.AsSpan(i * Sealed, Sealed);
            Nonce(nonce, start + (ulong)i);
            if (!alg.Decrypt(_sodiumKey, nonce, default, f, sealedFrame[..Frame])) throw new CryptographicException("tag");
            sealedFrame[..Frame].CopyTo(f);
        }
        _counter += (ulong)Frames;
    }

    [Benchmark]
    public void OpenSslReusedContext()
    {
        if (_evpSeal is null) throw new PlatformNotSupportedException("OpenSSL P/Invoke is wired for Linux only");
        Fill();
        var start = _counter;
        fixed (byte* b = _buffer)
        {
            for (var i = 0; i < Frames; i++) _evpSeal.Seal(b + i * Sealed, start + (ulong)i);
            for (var i = 0; i < Frames; i++)
                if (!_evpOpen!.Open(b + i * Sealed, start + (ulong)i)) throw new CryptographicException("tag");
        }
        _counter += (ulong)Frames;
    }

    [Benchmark]
    public void SwitchboardAvx512MultiFrame()
    {
        if (_batchSeal is null) throw new PlatformNotSupportedException("no AVX-512 on this machine");
        Fill();
        _batchSeal.SealFrames(_buffer, Frames);
        if (_batchOpen.OpenFrames(_buffer, Frames, out _) != Frames) throw new CryptographicException("tag");
    }

    [Benchmark]
    public void SwitchboardAvx2MultiFrame()
    {
        if (_avx2Seal is null) throw new PlatformNotSupportedException("no AVX2 on this machine");
        Fill();
        _avx2Seal.SealFrames(_buffer, Frames);
        if (_avx2Open.OpenFrames(_buffer, Frames, out _) != Frames) throw new CryptographicException("tag");
    }

    /// <summary>OpenSSL 3 EVP ChaCha20-Poly1305 with one context per direction, re-keyed only with the nonce.</summary>
    private sealed class Evp : IDisposable
    {
        private const string Lib = "libcrypto.so.3";
        private const int GetTag = 0x10, SetTag = 0x11;
        private readonly IntPtr _ctx;
        private readonly int _encrypt;

        public Evp(byte[] key, bool encrypt)
        {
            _encrypt = encrypt ? 1 : 0;
            _ctx = EVP_CIPHER_CTX_new();
            fixed (byte* k = key)
                if (EVP_CipherInit_ex(_ctx, EVP_chacha20_poly1305(), IntPtr.Zero, k, null, _encrypt) != 1)
                    throw new CryptographicException("EVP init");
        }

        public void Seal(byte* frame, ulong counter)
        {
            byte* nonce = stackalloc byte[12];
            *(uint*)nonce = 0;
            *(ulong*)(nonce + 4) = counter;
            int n, m;
            EVP_CipherInit_ex(_ctx, IntPtr.Zero, IntPtr.Zero, null, nonce, 1);
            EVP_CipherUpdate(_ctx, frame, &n, frame, Frame);
            EVP_CipherFinal_ex(_ctx, frame + n, &m);
            EVP_CIPHER_CTX_ctrl(_ctx, GetTag, 16, frame + Frame);
        }

        public bool Open(byte* frame, ulong counter)
        {
            byte* nonce = stackalloc byte[12];
            *(uint*)nonce = 0;
            *(ulong*)(nonce + 4) = counter;
            int n, m;
            EVP_CipherInit_ex(_ctx, IntPtr.Zero, IntPtr.Zero, null, nonce, 0);
            EVP_CipherUpdate(_ctx, frame, &n, frame, Frame);
            EVP_CIPHER_CTX_ctrl(_ctx, SetTag, 16, frame + Frame);
            return EVP_CipherFinal_ex(_ctx, frame + n, &m) == 1;
        }

        public void Dispose() => EVP_CIPHER_CTX_free(_ctx);

        [DllImport(Lib)] private static extern IntPtr EVP_CIPHER_CTX_new();
        [DllImport(Lib)] private static extern void EVP_CIPHER_CTX_free(IntPtr ctx);
        [DllImport(Lib)] private static extern IntPtr EVP_chacha20_poly1305();
        [DllImport(Lib)] private static extern int EVP_CipherInit_ex(IntPtr ctx, IntPtr cipher, IntPtr engine, byte* key, byte* iv, int enc);
        [DllImport(Lib)] private static extern int EVP_CipherUpdate(IntPtr ctx, byte* output, int* outputLength, byte* input, int inputLength);
        [DllImport(Lib)] private static extern int EVP_CipherFinal_ex(IntPtr ctx, byte* output, int* outputLength);
        [DllImport(Lib)] private static extern int EVP_CIPHER_CTX_ctrl(IntPtr ctx, int type, int arg, byte* ptr);
    }
}
