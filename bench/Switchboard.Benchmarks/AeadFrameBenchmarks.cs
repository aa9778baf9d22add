using System.Buffers.Binary;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Switchboard.Conn;

namespace Switchboard.Benchmarks;

/// <summary>
/// Cost of the SecretConnection record layer per 1 KiB frame against the raw BCL AEAD on the same 1028-byte
/// plaintext: what framing, the nonce counter and in-place sealing add on top of ChaCha20-Poly1305 itself.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AeadFrameBenchmarks
{
    private const int Data = SecretConnectionCipher.DataMaxSize;
    private const int Frame = SecretConnectionCipher.FrameSize;
    private const int Sealed = SecretConnectionCipher.SealedFrameSize;

    private readonly byte[] _key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly byte[] _data = new byte[Data];
    private readonly byte[] _frame = new byte[Sealed];
    private readonly byte[] _plain = new byte[Frame];
    private readonly byte[] _cipherText = new byte[Frame];
    private readonly byte[] _tag = new byte[16];
    private readonly byte[] _nonce = new byte[12];
    private SecretConnectionCipher _sealer = null!;
    private SecretConnectionCipher _opener = null!;
    private ChaCha20Poly1305 _raw = null!;
    private ulong _counter;

    [GlobalSetup]
    public void Setup()
    {
        new Random(42).NextBytes(_data);
        _sealer = new SecretConnectionCipher(_key);
        _opener = new SecretConnectionCipher(_key);
        _raw = new ChaCha20Poly1305(_key);
        BinaryPrimitives.WriteUInt32LittleEndian(_plain, Data);
        _data.CopyTo(_plain, 4);

        // Check: our sealed frame equals the raw AEAD output for nonce 0, and opens back to the data.
        OurSeal();
        _raw.Encrypt(_nonce, _plain, _cipherText, _tag);
        if (!_frame.AsSpan(0, Frame).SequenceEqual(_cipherText) || !_frame.AsSpan(Frame).SequenceEqual(_tag))
            throw new InvalidOperationException("sealed frame differs from the raw AEAD output");
        if (!_opener.TryOpen(_frame) || !_frame.AsSpan(4, Data).SequenceEqual(_data))
            throw new InvalidOperationException("sealed frame does not open to its data");
        if (OurSealOpen() != Data || RawEncryptDecrypt() != Data)
            throw new InvalidOperationException("round trip broken");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sealer.Dispose();
        _opener.Dispose();
        _raw.Dispose();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("seal")]
    public void RawEncrypt()
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_nonce.AsSpan(4), _counter++);
        _raw.Encrypt(_nonce, _plain, _cipherText, _tag);
    }

    [Benchmark, BenchmarkCategory("seal")]
    public void OurSeal()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_frame, Data);
        _data.CopyTo(_frame, 4);
        _sealer.Seal(_frame);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("seal+open")]
    public int RawEncryptDecrypt()
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_nonce.AsSpan(4), _counter++);
        _raw.Encrypt(_nonce, _plain, _cipherText, _tag);
        _raw.Decrypt(_nonce, _cipherText, _tag, _plain);
        return (int)BinaryPrimitives.ReadUInt32LittleEndian(_plain);
    }

    [Benchmark, BenchmarkCategory("seal+open")]
    public int OurSealOpen()
    {
        OurSeal();
        if (!_opener.TryOpen(_frame))
            throw new InvalidOperationException("frame did not authenticate");
        return (int)BinaryPrimitives.ReadUInt32LittleEndian(_frame);
    }
}
