using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Switchboard.Conn;

namespace Switchboard.Tests.Conn;

/// <summary>
/// The multi-frame ChaCha20-Poly1305 paths, AVX-512 (<see cref="FrameAead512"/>) and AVX2 (<see cref="FrameAead256"/>),
/// against RFC 8439's vectors, a BigInteger Poly1305, and the BCL's <see cref="ChaCha20Poly1305"/> (differentially,
/// over random keys, nonces, frame counts and tampering). Every check runs once per path; on a machine without
/// AVX-512 (or AVX2) the tests of that path report themselves skipped.
/// </summary>
public class FrameAeadTests
{
    private const int Sealed = SecretConnectionCipher.SealedFrameSize;
    private const int Frame = SecretConnectionCipher.FrameSize;

    [Avx512Fact]
    public void ChaChaBlockMatchesRfc8439Section232() => ChaChaBlock(FrameAeadPath.Avx512);

    [Avx2Fact]
    public void ChaChaBlockMatchesRfc8439Section232Avx2() => ChaChaBlock(FrameAeadPath.Avx2);

    private static void ChaChaBlock(FrameAeadPath path)
    {
        var key = FrameAead.KeyWords.From(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var lanes = ChaChaLanes(path);
        // Nonce 00:00:00:09:00:00:00:4a:00:00:00:00, block counter 1, in every lane.
        var output = ChaCha(path, key, Same(lanes, 1u), Same(lanes, 0x09000000u), Same(lanes, 0x4a000000u), Same(lanes, 0u));
        var expected = Convert.FromHexString(
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
        Assert.Equal(lanes, output.Length);
        for (var lane = 0; lane < lanes; lane++)
            Assert.Equal(expected, output[lane]);
    }

    [Avx512Fact]
    public void EachLaneIsTheKeystreamBlockOfItsOwnCounterAndNonce() => EachLane(FrameAeadPath.Avx512);

    [Avx2Fact]
    public void EachLaneIsTheKeystreamBlockOfItsOwnCounterAndNonceAvx2() => EachLane(FrameAeadPath.Avx2);

    private static void EachLane(FrameAeadPath path)
    {
        var rng = new Random(7);
        var keyBytes = new byte[32];
        rng.NextBytes(keyBytes);
        var key = FrameAead.KeyWords.From(keyBytes);
        var lanes = ChaChaLanes(path);
        var ctr = new uint[lanes];
        var lo = new uint[lanes];
        var hi = new uint[lanes];
        for (var i = 0; i < lanes; i++)
        {
            ctr[i] = (uint)rng.Next(1, 1000);
            lo[i] = (uint)rng.NextInt64(0, uint.MaxValue + 1L);
            hi[i] = (uint)rng.NextInt64(0, uint.MaxValue + 1L);
        }
        var output = ChaCha(path, key, ctr, new uint[lanes], lo, hi);
        using var bcl = new ChaCha20Poly1305(keyBytes);
        for (var lane = 0; lane < lanes; lane++)
        {
            // The BCL encrypts from block counter 1: the keystream of block c is bytes 64(c−1)… of a zero plaintext.
            var nonce = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(nonce.AsSpan(4), lo[lane]);
            BinaryPrimitives.WriteUInt32LittleEndian(nonce.AsSpan(8), hi[lane]);
            var zeros = new byte[64 * ctr[lane]];
            var stream = new byte[zeros.Length];
            bcl.Encrypt(nonce, zeros, stream, new byte[16]);
            Assert.Equal(stream.AsSpan(64 * (int)(ctr[lane] - 1), 64).ToArray(), output[lane]);
        }
    }

    public static TheoryData<int, ulong> Runs() => new()
    {
        { 1, 0 }, { 2, 5 }, { 3, 0 }, { 4, 9 }, { 5, 3 }, { 7, 100 }, { 8, 0 }, { 9, 1 }, { 16, 12345 }, { 17, 0 },
        { 64, 0 }, { 129, 77 },
        { 12, 0xFFFF_FFFA }, // the nonce's low word carries into the high word inside the run
        { 5, ulong.MaxValue - 6 },
    };

    [Avx512Theory]
    [MemberData(nameof(Runs))]
    public void SealedRunIsByteForByteTheBclsAndOpensBack(int count, ulong counter) =>
        SealedRun(FrameAeadPath.Avx512, count, counter);

    [Avx2Theory]
    [MemberData(nameof(Runs))]
    public void SealedRunIsByteForByteTheBclsAndOpensBackAvx2(int count, ulong counter) =>
        SealedRun(FrameAeadPath.Avx2, count, counter);

    private static void SealedRun(FrameAeadPath path, int count, ulong counter)
    {
        var rng = new Random(count * 31 + (int)(counter & 0xffff));
        var key = new byte[32];
        rng.NextBytes(key);
        var plain = RandomFrames(rng, count);

        var ours = plain.ToArray();
        using (var batch = new SecretConnectionCipher(key, counter, path))
        {
            batch.SealFrames(ours, count);
            Assert.Equal(counter + (ulong)count, batch.Counter);
        }
        var bcl = plain.ToArray();
        using (var reference = new SecretConnectionCipher(key, counter, FrameAeadPath.Bcl))
            for (var i = 0; i < count; i++) reference.Seal(bcl.AsSpan(i * Sealed, Sealed));
        Assert.Equal(bcl, ours);

        using var opener = new SecretConnectionCipher(key, counter, path);
        Assert.Equal(count, opener.OpenFrames(ours, count, out var failed));
        Assert.False(failed);
        for (var i = 0; i < count; i++)
            Assert.Equal(plain.AsSpan(i * Sealed, Frame).ToArray(), ours.AsSpan(i * Sealed, Frame).ToArray());
    }

    public static TheoryData<int, int, int> Tampers() => new()
    {
        { 1, 0, 0 },
        { 8, 3, 17 },
        { 8, 7, Frame + 15 },  // last byte of the tag
        { 20, 12, 1026 },      // in the 4-byte tail
        { 20, 19, 0 },
        { 20, 0, Frame },      // first byte of the tag
        { 6, 4, 1027 },        // first frame of the AVX2 path's second group, last tail byte
    };

    [Avx512Theory]
    [MemberData(nameof(Tampers))]
    public void TamperedFrameStopsTheRunThere(int count, int bad, int offset) =>
        TamperedRun(FrameAeadPath.Avx512, count, bad, offset);

    [Avx2Theory]
    [MemberData(nameof(Tampers))]
    public void TamperedFrameStopsTheRunThereAvx2(int count, int bad, int offset) =>
        TamperedRun(FrameAeadPath.Avx2, count, bad, offset);

    private static void TamperedRun(FrameAeadPath path, int count, int bad, int offset)
    {
        var rng = new Random(bad * 131 + offset);
        var key = new byte[32];
        rng.NextBytes(key);
        var plain = RandomFrames(rng, count);
        var frames = plain.ToArray();
        using (var sealer = new SecretConnectionCipher(key, 40, path)) sealer.SealFrames(frames, count);
        frames[bad * Sealed + offset] ^= (byte)(1 << rng.Next(8));

        foreach (var opening in new[] { path, FrameAeadPath.Bcl })
        {
            var copy = frames.ToArray();
            using var opener = new SecretConnectionCipher(key, 40, opening);
            Assert.Equal(bad, opener.OpenFrames(copy, count, out var failed));
            Assert.True(failed);
            Assert.Equal(40UL + (ulong)bad + 1, opener.Counter);
            for (var i = 0; i < bad; i++)
                Assert.Equal(plain.AsSpan(i * Sealed, Frame).ToArray(), copy.AsSpan(i * Sealed, Frame).ToArray());
            Assert.All(copy.AsSpan(bad * Sealed, Frame).ToArray(), b => Assert.Equal(0, b));
        }
    }

    [Avx512Fact]
    public void RandomRunsAgreeWithTheBcl() => RandomRuns(FrameAeadPath.Avx512);

    [Avx2Fact]
    public void RandomRunsAgreeWithTheBclAvx2() => RandomRuns(FrameAeadPath.Avx2);

    private static void RandomRuns(FrameAeadPath path)
    {
        var rng = new Random(2026);
        for (var trial = 0; trial < 200; trial++)
        {
            var key = new byte[32];
            rng.NextBytes(key);
            var count = rng.Next(1, 40);
            var counter = rng.Next(4) == 0 ? (ulong)rng.NextInt64() : (ulong)rng.Next(0, 1 << 20);
            var plain = RandomFrames(rng, count);
            var ours = plain.ToArray();
            using (var batch = new SecretConnectionCipher(key, counter, path)) batch.SealFrames(ours, count);
            var bcl = plain.ToArray();
            using (var reference = new SecretConnectionCipher(key, counter, FrameAeadPath.Bcl)) reference.SealFrames(bcl, count);
            Assert.Equal(bcl, ours);
            using var opener = new SecretConnectionCipher(key, counter, path);
            Assert.Equal(count, opener.OpenFrames(bcl, count, out _));
            for (var i = 0; i < count; i++)
                Assert.Equal(plain.AsSpan(i * Sealed, Frame).ToArray(), bcl.AsSpan(i * Sealed, Frame).ToArray());
        }
    }

    /// <summary>Edge values for the final reduction (h near 2^130 − 5): maximal key and message words.</summary>
    public static TheoryData<byte, byte, byte> PolyEdges() => new()
    {
        { 0xFF, 0xFF, 0xFF },
        { 0xFF, 0x00, 0xFF },
        { 0x00, 0xFF, 0xFF },
        { 0xFF, 0xFF, 0x00 },
        { 0x00, 0x00, 0x00 },
        { 0x01, 0x00, 0xFE },
    };

    [Avx512Theory]
    [MemberData(nameof(PolyEdges))]
    public void Poly1305MatchesABigIntegerReference(byte rByte, byte sByte, byte messageByte) =>
        Poly1305Edges(FrameAeadPath.Avx512, rByte, sByte, messageByte);

    [Avx2Theory]
    [MemberData(nameof(PolyEdges))]
    public void Poly1305MatchesABigIntegerReferenceAvx2(byte rByte, byte sByte, byte messageByte) =>
        Poly1305Edges(FrameAeadPath.Avx2, rByte, sByte, messageByte);

    private static void Poly1305Edges(FrameAeadPath path, byte rByte, byte sByte, byte messageByte)
    {
        var rng = new Random(rByte * 7 + sByte * 3 + messageByte);
        var lanes = path == FrameAeadPath.Avx512 ? 8 : 4;
        for (var n = 1; n <= lanes; n++)
        {
            var keys = new byte[32 * lanes];
            var group = new byte[Sealed * n];
            for (var f = 0; f < n; f++)
            {
                keys.AsSpan(32 * f, 16).Fill(rByte);
                keys.AsSpan(32 * f + 16, 16).Fill(sByte);
                group.AsSpan(f * Sealed, Frame).Fill(messageByte);
                if (f % 2 == 1) rng.NextBytes(group.AsSpan(f * Sealed, Frame)); // mix edge and random lanes
                if (f % 3 == 2) rng.NextBytes(keys.AsSpan(32 * f, 32));
            }
            var tags = new byte[16 * lanes];
            if (path == FrameAeadPath.Avx512) FrameAead512.Poly1305x8(group, n, keys, tags);
            else FrameAead256.Poly1305x4(group, n, keys, tags);
            for (var f = 0; f < n; f++)
                Assert.Equal(ReferencePoly1305(keys.AsSpan(32 * f, 32), AeadMacData(group.AsSpan(f * Sealed, Frame))),
                    tags.AsSpan(16 * f, 16).ToArray());
        }
    }

    /// <summary>The one-frame kernel (small runs) on the same edge values, and on random keys and frames.</summary>
    [Avx2Theory]
    [InlineData(0xFF, 0xFF, 0xFF)]
    [InlineData(0xFF, 0x00, 0xFF)]
    [InlineData(0x00, 0xFF, 0xFF)]
    [InlineData(0xFF, 0xFF, 0x00)]
    [InlineData(0x00, 0x00, 0x00)]
    [InlineData(0x01, 0x00, 0xFE)]
    public void OneFramePoly1305MatchesABigIntegerReference(byte rByte, byte sByte, byte messageByte)
    {
        foreach (var path in SupportedPaths().Where(p => p != FrameAeadPath.Bcl))
            OneFramePoly1305(path, rByte, sByte, messageByte);
    }

    private static void OneFramePoly1305(FrameAeadPath path, byte rByte, byte sByte, byte messageByte)
    {
        var rng = new Random(rByte * 5 + sByte * 11 + messageByte);
        for (var round = 0; round < 24; round++)
        {
            var key = new byte[32];
            var frame = new byte[Frame];
            key.AsSpan(0, 16).Fill(rByte);
            key.AsSpan(16).Fill(sByte);
            frame.AsSpan().Fill(messageByte);
            // Round 0 is the pure edge case; later rounds randomise the key, the frame, or single blocks of it.
            if (round % 3 == 1) rng.NextBytes(key);
            if (round % 4 == 2) rng.NextBytes(frame);
            if (round % 4 == 3) rng.NextBytes(frame.AsSpan(16 * rng.Next(64), 16));
            var tag = new byte[16];
            if (path == FrameAeadPath.Avx512) FrameAead512.Poly1305Wide(frame, key, tag);
            else FrameAead256.Poly1305Wide(frame, key, tag);
            Assert.Equal(ReferencePoly1305(key, AeadMacData(frame)), tag);
        }
    }

    /// <summary>Every path this CPU runs, the BCL first.</summary>
    private static FrameAeadPath[] SupportedPaths() =>
        [.. new[] { FrameAeadPath.Bcl, FrameAeadPath.Avx2, FrameAeadPath.Avx512 }.Where(SecretConnectionCipher.IsSupported)];

    [Fact]
    public void SealFramesRefusesARunTheNoncesCannotCoverAndSealsNothing()
    {
        var key = new byte[32];
        foreach (var path in SupportedPaths())
        {
            using var cipher = new SecretConnectionCipher(key, ulong.MaxValue - 2, path);
            var frames = new byte[3 * Sealed];
            var ex = Assert.Throws<ProtocolViolationException>(() => cipher.SealFrames(frames, 3));
            Assert.Equal(ProtocolViolation.NonceExhausted, ex.Violation);
            Assert.All(frames, b => Assert.Equal(0, b));
            Assert.Equal(ulong.MaxValue - 2, cipher.Counter);
            cipher.SealFrames(frames, 2); // the last two usable nonces
            Assert.Equal(ulong.MaxValue, cipher.Counter);
            Assert.Throws<ProtocolViolationException>(() => cipher.SealFrames(frames.AsSpan(0, Sealed), 1));
        }
    }

    [Fact]
    public void OpenFramesStopsAtTheLastUsableNonce()
    {
        var key = new byte[32];
        foreach (var path in SupportedPaths())
        {
            var frames = new byte[3 * Sealed];
            using (var sealer = new SecretConnectionCipher(key, ulong.MaxValue - 2, path)) sealer.SealFrames(frames, 2);
            using var opener = new SecretConnectionCipher(key, ulong.MaxValue - 2, path);
            Assert.Equal(2, opener.OpenFrames(frames, 3, out var failed));
            Assert.False(failed);
            var ex = Assert.Throws<ProtocolViolationException>(() => opener.OpenFrames(frames.AsSpan(2 * Sealed), 1, out _));
            Assert.Equal(ProtocolViolation.NonceExhausted, ex.Violation);
        }
    }

    [Fact]
    public void SwitchboardAeadPicksThePathAndTheNameSaysWhichRuns()
    {
        var best = FrameAead512.IsSupported ? FrameAeadPath.Avx512 : FrameAead256.IsSupported ? FrameAeadPath.Avx2 : FrameAeadPath.Bcl;
        Assert.Equal(best, SecretConnectionCipher.ChoosePath(null));
        Assert.Equal(best, SecretConnectionCipher.ChoosePath("something else"));
        Assert.Equal(FrameAeadPath.Bcl, SecretConnectionCipher.ChoosePath("BCL"));
        Assert.Equal(FrameAead256.IsSupported ? FrameAeadPath.Avx2 : FrameAeadPath.Bcl, SecretConnectionCipher.ChoosePath("avx2"));
        Assert.Equal(SecretConnectionCipher.PathNameOf(SecretConnectionCipher.DefaultPath), SecretConnection.AeadImplementation);
        Assert.Equal("switchboard avx2 multi-frame", SecretConnectionCipher.PathNameOf(FrameAeadPath.Avx2));
        Assert.Equal("switchboard avx-512 multi-frame", SecretConnectionCipher.PathNameOf(FrameAeadPath.Avx512));
        Assert.Equal("bcl ChaCha20Poly1305", SecretConnectionCipher.PathNameOf(FrameAeadPath.Bcl));
    }

    /// <summary>One ChaCha batch of <paramref name="path"/>'s width (16 or 8 lanes); the 64-byte block of each lane.</summary>
    private static byte[][] ChaCha(FrameAeadPath path, FrameAead.KeyWords key, uint[] ctr, uint[] n13, uint[] lo, uint[] hi)
    {
        byte[] bytes;
        if (path == FrameAeadPath.Avx512)
        {
            var output = new FrameAead512.Block16();
            FrameAead512.ChaCha16(key, Vector512.Create<uint>(ctr), Vector512.Create<uint>(n13), Vector512.Create<uint>(lo),
                Vector512.Create<uint>(hi), ref output);
            bytes = MemoryMarshal.AsBytes((Span<Vector512<uint>>)output).ToArray();
        }
        else
        {
            var output = new FrameAead256.Block8();
            FrameAead256.ChaCha8(key, Vector256.Create<uint>(ctr), Vector256.Create<uint>(n13), Vector256.Create<uint>(lo),
                Vector256.Create<uint>(hi), ref output);
            bytes = MemoryMarshal.AsBytes((Span<Vector256<uint>>)output).ToArray();
        }
        return [.. bytes.Chunk(64)];
    }

    private static int ChaChaLanes(FrameAeadPath path) => path == FrameAeadPath.Avx512 ? 16 : 8;

    private static uint[] Same(int lanes, uint value) => Enumerable.Repeat(value, lanes).ToArray();

    private static byte[] RandomFrames(Random rng, int count)
    {
        var frames = new byte[count * Sealed];
        for (var i = 0; i < count; i++)
        {
            var frame = frames.AsSpan(i * Sealed, Frame);
            var length = rng.Next(0, 1025);
            BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)length);
            rng.NextBytes(frame.Slice(4, length));
        }
        return frames;
    }

    /// <summary>RFC 8439 2.8: ciphertext, zero padding to 16, le64(AAD length = 0), le64(ciphertext length).</summary>
    private static byte[] AeadMacData(ReadOnlySpan<byte> ciphertext)
    {
        var padded = (ciphertext.Length + 15) / 16 * 16;
        var data = new byte[padded + 16];
        ciphertext.CopyTo(data);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(padded + 8), (ulong)ciphertext.Length);
        return data;
    }

    /// <summary>RFC 8439 2.5, written for clarity with BigInteger.</summary>
    private static byte[] ReferencePoly1305(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message)
    {
        var rBytes = key[..16].ToArray();
        rBytes[3] &= 15; rBytes[7] &= 15; rBytes[11] &= 15; rBytes[15] &= 15;
        rBytes[4] &= 252; rBytes[8] &= 252; rBytes[12] &= 252;
        var r = new BigInteger(rBytes, isUnsigned: true);
        var s = new BigInteger(key[16..32], isUnsigned: true);
        var p = (BigInteger.One << 130) - 5;
        var acc = BigInteger.Zero;
        for (var i = 0; i < message.Length; i += 16)
        {
            var block = message.Slice(i, Math.Min(16, message.Length - i)).ToArray();
            var n = new BigInteger([.. block, 1], isUnsigned: true);
            acc = (acc + n) * r % p;
        }
        acc = (acc + s) & ((BigInteger.One << 128) - 1);
        var tag = new byte[16];
        acc.TryWriteBytes(tag, out _, isUnsigned: true);
        return tag;
    }
}

/// <summary>A fact about the AVX-512 path; reported as skipped (with the reason) on a machine without AVX-512.</summary>
public sealed class Avx512FactAttribute : FactAttribute
{
    public Avx512FactAttribute()
    {
        if (!FrameAead512.IsSupported) Skip = "this machine has no AVX-512; the multi-frame AEAD path is not used here";
    }
}

/// <summary>A theory about the AVX-512 path; skipped with the reason on a machine without AVX-512.</summary>
public sealed class Avx512TheoryAttribute : TheoryAttribute
{
    public Avx512TheoryAttribute()
    {
        if (!FrameAead512.IsSupported) Skip = "this machine has no AVX-512; the multi-frame AEAD path is not used here";
    }
}

/// <summary>A fact about the AVX2 path; reported as skipped (with the reason) on a machine without AVX2.</summary>
public sealed class Avx2FactAttribute : FactAttribute
{
    public Avx2FactAttribute()
    {
        if (!FrameAead256.IsSupported) Skip = "this machine has no AVX2; the AVX2 multi-frame AEAD path is not used here";
    }
}

/// <summary>A theory about the AVX2 path; skipped with the reason on a machine without AVX2.</summary>
public sealed class Avx2TheoryAttribute : TheoryAttribute
{
    public Avx2TheoryAttribute()
    {
        if (!FrameAead256.IsSupported) Skip = "this machine has no AVX2; the AVX2 multi-frame AEAD path is not used here";
    }
}
