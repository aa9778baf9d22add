using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace Switchboard.Conn;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) for runs of SecretConnection frames, several frames at a time with AVX-512.
/// </summary>
/// <remarks>
/// <para>Why our own: per frame, most of a library AEAD's cost is per-call set-up (the BCL takes 1.7–1.9 µs to seal
/// a 1028-byte frame, OpenSSL's streaming update alone 0.55 µs). A write of 64 KiB is 64 frames under one key with
/// consecutive nonces, so the work can be laid out across frames instead: ChaCha20 computes 16 blocks at once (one
/// block per 32-bit lane of sixteen 512-bit registers), and Poly1305 runs 8 frames side by side (one frame per 64-bit
/// lane, 26-bit limbs, <c>vpmuludq</c>), so no per-message power table or key schedule is needed.</para>
/// <para>Layout of one group of up to 8 frames: one ChaCha batch computes block 0 (the Poly1305 key) of each frame in
/// lanes 0–7 and block 17 (the frame's last 4 bytes) in lanes 8–15; then one batch per frame computes blocks 1–16,
/// which cover the frame's first 1024 bytes. Eight frames cost nine batches, the minimum for 144 blocks.</para>
/// <para>That layout, the group loop (keys and tails, the data XOR, tags, the authentication check) and the scalar
/// parts of Poly1305 are <see cref="FrameAead"/>'s, shared with the AVX2 path (<see cref="FrameAead256"/>); this type
/// has the two 512-bit kernels, the ChaCha20 batch and Poly1305x8 (static only: a struct so that
/// <c>FrameAead.Seal&lt;FrameAead512&gt;</c> is compiled for it).</para>
/// <para>Constant time by construction: the arithmetic has no secret-dependent branches or table lookups; the final
/// reduction selects with masks; tags are compared with <see cref="CryptographicOperations.FixedTimeEquals"/>. The
/// only branches are on public facts (frame counts, which frame failed to authenticate).</para>
/// <para>Verified against RFC 8439's test vectors, the golden CometBFT transcript and, differentially, the BCL's
/// <see cref="ChaCha20Poly1305"/> over random keys, nonces, frame counts and tampered tags (tests/Conn/FrameAeadTests).</para>
/// </remarks>
internal readonly partial struct FrameAead512 : IFrameKernels
{
    // The kernels are [AggressiveOptimization]: tiered compilation would first run them unoptimized (and then
    // instrumented), where the vector helpers are not inlined and cost ten times as much.

    /// <summary>True when this machine runs the AVX-512 path (AVX-512 F is all it uses).</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    private const int Group = 8;

    /// <summary>Sixteen 512-bit vectors: the output of <c>ChaCha16</c>.</summary>
    [InlineArray(16)]
    internal struct Block16
    {
        private Vector512<uint> _v;
    }

    static int IFrameKernels.Group => Group;

    static void IFrameKernels.Poly1305(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags) =>
        Poly1305x8(group, n, keys, tags);

    static void IFrameKernels.ChaCha(in FrameAead.KeyWords key, ReadOnlySpan<uint> ctr, ReadOnlySpan<uint> lo, ReadOnlySpan<uint> hi, Span<byte> blocks) =>
        ChaCha16(key, Vector512.Create(ctr), Vector512.Create(lo), Vector512.Create(hi), ref MemoryMarshal.AsRef<Block16>(blocks));

    /// <summary>
    /// Sixteen ChaCha20 blocks (RFC 8439 2.3): lane j has block counter <paramref name="ctr"/>[j] and nonce
    /// <c>0 ‖ lo[j] ‖ hi[j]</c> (words 13–15). On return <paramref name="output"/>[j] is lane j's 64-byte keystream block.
    /// </summary>
    internal static void ChaCha16(in FrameAead.KeyWords key, Vector512<uint> ctr, Vector512<uint> lo, Vector512<uint> hi, ref Block16 output) =>
        ChaCha16(key, ctr, Vector512<uint>.Zero, lo, hi, ref output);

    /// <summary>As above with nonce word 13 given too (RFC 8439's test vectors use it; frames never do).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ChaCha16(in FrameAead.KeyWords key, Vector512<uint> ctr, Vector512<uint> n13, Vector512<uint> lo, Vector512<uint> hi, ref Block16 output)
    {
        var x0 = Vector512.Create(0x61707865u);
        var x1 = Vector512.Create(0x3320646eu);
        var x2 = Vector512.Create(0x79622d32u);
        var x3 = Vector512.Create(0x6b206574u);
        var x4 = Vector512.Create(key[0]);
        var x5 = Vector512.Create(key[1]);
        var x6 = Vector512.Create(key[2]);
        var x7 = Vector512.Create(key[3]);
        var x8 = Vector512.Create(key[4]);
        var x9 = Vector512.Create(key[5]);
        var x10 = Vector512.Create(key[6]);
        var x11 = Vector512.Create(key[7]);
        var x12 = ctr;
        var x13 = n13;
        var x14 = lo;
        var x15 = hi;
        for (var round = 0; round < 10; round++)
        {
            // Column round.
            Quarter(ref x0, ref x4, ref x8, ref x12);
            Quarter(ref x1, ref x5, ref x9, ref x13);
            Quarter(ref x2, ref x6, ref x10, ref x14);
            Quarter(ref x3, ref x7, ref x11, ref x15);
            // Diagonal round.
            Quarter(ref x0, ref x5, ref x10, ref x15);
            Quarter(ref x1, ref x6, ref x11, ref x12);
            Quarter(ref x2, ref x7, ref x8, ref x13);
            Quarter(ref x3, ref x4, ref x9, ref x14);
        }
        x0 += Vector512.Create(0x61707865u);
        x1 += Vector512.Create(0x3320646eu);
        x2 += Vector512.Create(0x79622d32u);
        x3 += Vector512.Create(0x6b206574u);
        x4 += Vector512.Create(key[0]);
        x5 += Vector512.Create(key[1]);
        x6 += Vector512.Create(key[2]);
        x7 += Vector512.Create(key[3]);
        x8 += Vector512.Create(key[4]);
        x9 += Vector512.Create(key[5]);
        x10 += Vector512.Create(key[6]);
        x11 += Vector512.Create(key[7]);
        x12 += ctr;
        x13 += n13;
        x14 += lo;
        x15 += hi;
        Transpose16(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15, ref output);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quarter(ref Vector512<uint> a, ref Vector512<uint> b, ref Vector512<uint> c, ref Vector512<uint> d)
    {
        a += b; d = Avx512F.RotateLeft(d ^ a, 16);
        c += d; b = Avx512F.RotateLeft(b ^ c, 12);
        a += b; d = Avx512F.RotateLeft(d ^ a, 8);
        c += d; b = Avx512F.RotateLeft(b ^ c, 7);
    }

    /// <summary>
    /// Input: x[w] lane j = word w of block j. Output: y[j] lane w = word w of block j. 32-bit then 64-bit unpacks
    /// transpose the 4×4 words inside each 128-bit lane; a 4×4 transpose of 128-bit lanes finishes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(Vector512<uint> x0, Vector512<uint> x1, Vector512<uint> x2, Vector512<uint> x3,
        Vector512<uint> x4, Vector512<uint> x5, Vector512<uint> x6, Vector512<uint> x7,
        Vector512<uint> x8, Vector512<uint> x9, Vector512<uint> x10, Vector512<uint> x11,
        Vector512<uint> x12, Vector512<uint> x13, Vector512<uint> x14, Vector512<uint> x15, ref Block16 y)
    {
        // b[4k+m], 128-bit lane L = words 4k..4k+3 of block 4L+m.
        Words4(x0, x1, x2, x3, out var b0, out var b1, out var b2, out var b3);
        Words4(x4, x5, x6, x7, out var b4, out var b5, out var b6, out var b7);
        Words4(x8, x9, x10, x11, out var b8, out var b9, out var b10, out var b11);
        Words4(x12, x13, x14, x15, out var b12, out var b13, out var b14, out var b15);
        // y[4L+m] = lane L of b[m], b[4+m], b[8+m], b[12+m].
        Lanes4(b0, b4, b8, b12, out y[0], out y[4], out y[8], out y[12]);
        Lanes4(b1, b5, b9, b13, out y[1], out y[5], out y[9], out y[13]);
        Lanes4(b2, b6, b10, b14, out y[2], out y[6], out y[10], out y[14]);
        Lanes4(b3, b7, b11, b15, out y[3], out y[7], out y[11], out y[15]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Words4(Vector512<uint> p, Vector512<uint> q, Vector512<uint> r, Vector512<uint> s,
        out Vector512<uint> m0, out Vector512<uint> m1, out Vector512<uint> m2, out Vector512<uint> m3)
    {
        var a0 = Avx512F.UnpackLow(p, q).AsUInt64();
        var a1 = Avx512F.UnpackHigh(p, q).AsUInt64();
        var a2 = Avx512F.UnpackLow(r, s).AsUInt64();
        var a3 = Avx512F.UnpackHigh(r, s).AsUInt64();
        m0 = Avx512F.UnpackLow(a0, a2).AsUInt32();
        m1 = Avx512F.UnpackHigh(a0, a2).AsUInt32();
        m2 = Avx512F.UnpackLow(a1, a3).AsUInt32();
        m3 = Avx512F.UnpackHigh(a1, a3).AsUInt32();
    }

    /// <summary>Transposes a 4×4 matrix of 128-bit lanes: rows p, q, r, s; output row L = lane L of p, q, r, s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lanes4(Vector512<uint> p, Vector512<uint> q, Vector512<uint> r, Vector512<uint> s,
        out Vector512<uint> l0, out Vector512<uint> l1, out Vector512<uint> l2, out Vector512<uint> l3)
    {
        var t0 = Avx512F.Shuffle4x128(p, q, 0x44); // p0 p1 q0 q1
        var t1 = Avx512F.Shuffle4x128(p, q, 0xEE); // p2 p3 q2 q3
        var t2 = Avx512F.Shuffle4x128(r, s, 0x44); // r0 r1 s0 s1
        var t3 = Avx512F.Shuffle4x128(r, s, 0xEE); // r2 r3 s2 s3
        l0 = Avx512F.Shuffle4x128(t0, t2, 0x88);  // p0 q0 r0 s0
        l1 = Avx512F.Shuffle4x128(t0, t2, 0xDD);  // p1 q1 r1 s1
        l2 = Avx512F.Shuffle4x128(t1, t3, 0x88);
        l3 = Avx512F.Shuffle4x128(t1, t3, 0xDD);
    }

    /// <summary>
    /// Poly1305 (RFC 8439 2.5, 2.8) of each frame's 1028 ciphertext bytes as the AEAD defines it (no AAD, ciphertext
    /// zero-padded to 16, then the two 64-bit lengths), eight frames side by side. Lanes past <paramref name="n"/>
    /// repeat the last frame and are ignored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Poly1305x8(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags)
    {
        Span<ulong> k = stackalloc ulong[5 * Group];
        FrameAead.ClampedLimbs(keys, n, k);
        var r0 = Vector512.Create<ulong>(k[..8]);
        var r1 = Vector512.Create<ulong>(k[8..16]);
        var r2 = Vector512.Create<ulong>(k[16..24]);
        var r3 = Vector512.Create<ulong>(k[24..32]);
        var r4 = Vector512.Create<ulong>(k[32..40]);
        var s1 = r1 * 5;
        var s2 = r2 * 5;
        var s3 = r3 * 5;
        var s4 = r4 * 5;
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(k));

        var h0 = Vector512<ulong>.Zero;
        var h1 = Vector512<ulong>.Zero;
        var h2 = Vector512<ulong>.Zero;
        var h3 = Vector512<ulong>.Zero;
        var h4 = Vector512<ulong>.Zero;

        ref var g = ref MemoryMarshal.GetReference(group);
        Span<int> offsets = stackalloc int[Group];
        FrameAead.LaneOffsets(n, offsets);

        // Blocks 0–63: the first 1024 ciphertext bytes, four blocks of eight frames per step.
        for (var at = 0; at < 1024; at += 64)
        {
            var f0 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[0] + at)).AsUInt64();
            var f1 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[1] + at)).AsUInt64();
            var f2 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[2] + at)).AsUInt64();
            var f3 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[3] + at)).AsUInt64();
            var f4 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[4] + at)).AsUInt64();
            var f5 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[5] + at)).AsUInt64();
            var f6 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[6] + at)).AsUInt64();
            var f7 = Vector512.LoadUnsafe(ref g, (nuint)(offsets[7] + at)).AsUInt64();
            // Lane L of fj = (lo, hi) of block L of frame j; regroup into lo and hi of the same block across frames.
            var lo01 = Avx512F.UnpackLow(f0, f1).AsUInt32();
            var hi01 = Avx512F.UnpackHigh(f0, f1).AsUInt32();
            var lo23 = Avx512F.UnpackLow(f2, f3).AsUInt32();
            var hi23 = Avx512F.UnpackHigh(f2, f3).AsUInt32();
            var lo45 = Avx512F.UnpackLow(f4, f5).AsUInt32();
            var hi45 = Avx512F.UnpackHigh(f4, f5).AsUInt32();
            var lo67 = Avx512F.UnpackLow(f6, f7).AsUInt32();
            var hi67 = Avx512F.UnpackHigh(f6, f7).AsUInt32();
            Lanes4(lo01, lo23, lo45, lo67, out var lo0, out var lo1, out var lo2, out var lo3);
            Lanes4(hi01, hi23, hi45, hi67, out var hi0, out var hi1, out var hi2, out var hi3);
            Block(lo0.AsUInt64(), hi0.AsUInt64(), ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
            Block(lo1.AsUInt64(), hi1.AsUInt64(), ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
            Block(lo2.AsUInt64(), hi2.AsUInt64(), ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
            Block(lo3.AsUInt64(), hi3.AsUInt64(), ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
        }
        // Block 64: the last 4 ciphertext bytes, zero-padded to a full block. Block 65: le64(AAD length = 0) ‖ le64(1028).
        Span<ulong> last = stackalloc ulong[Group];
        FrameAead.LastBlocks(group, offsets, last);
        Block(Vector512.Create<ulong>(last), Vector512<ulong>.Zero, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
        Block(Vector512<ulong>.Zero, Vector512.Create((ulong)FrameAead.FrameSize), ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);

        Span<ulong> hs = stackalloc ulong[5 * Group];
        h0.CopyTo(hs);
        h1.CopyTo(hs[8..]);
        h2.CopyTo(hs[16..]);
        h3.CopyTo(hs[24..]);
        h4.CopyTo(hs[32..]);
        FrameAead.FinishAll(hs, n, keys, tags);
    }

    /// <summary>h = (h + m + 2^128) · r mod 2^130 − 5, limbs of 26 bits (partially reduced), eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(Vector512<ulong> lo, Vector512<ulong> hi,
        ref Vector512<ulong> h0, ref Vector512<ulong> h1, ref Vector512<ulong> h2, ref Vector512<ulong> h3, ref Vector512<ulong> h4,
        Vector512<ulong> r0, Vector512<ulong> r1, Vector512<ulong> r2, Vector512<ulong> r3, Vector512<ulong> r4,
        Vector512<ulong> s1, Vector512<ulong> s2, Vector512<ulong> s3, Vector512<ulong> s4)
    {
        var mask = Vector512.Create(0x3ffffffUL);
        h0 += lo & mask;
        h1 += Avx512F.ShiftRightLogical(lo, 26) & mask;
        h2 += (Avx512F.ShiftRightLogical(lo, 52) | Avx512F.ShiftLeftLogical(hi, 12)) & mask;
        h3 += Avx512F.ShiftRightLogical(hi, 14) & mask;
        h4 += Avx512F.ShiftRightLogical(hi, 40) | Vector512.Create(1UL << 24);

        var d0 = Mul(h0, r0) + Mul(h1, s4) + Mul(h2, s3) + Mul(h3, s2) + Mul(h4, s1);
        var d1 = Mul(h0, r1) + Mul(h1, r0) + Mul(h2, s4) + Mul(h3, s3) + Mul(h4, s2);
        var d2 = Mul(h0, r2) + Mul(h1, r1) + Mul(h2, r0) + Mul(h3, s4) + Mul(h4, s3);
        var d3 = Mul(h0, r3) + Mul(h1, r2) + Mul(h2, r1) + Mul(h3, r0) + Mul(h4, s4);
        var d4 = Mul(h0, r4) + Mul(h1, r3) + Mul(h2, r2) + Mul(h3, r1) + Mul(h4, r0);

        var c = Avx512F.ShiftRightLogical(d0, 26); h0 = d0 & mask; d1 += c;
        c = Avx512F.ShiftRightLogical(d1, 26); h1 = d1 & mask; d2 += c;
        c = Avx512F.ShiftRightLogical(d2, 26); h2 = d2 & mask; d3 += c;
        c = Avx512F.ShiftRightLogical(d3, 26); h3 = d3 & mask; d4 += c;
        c = Avx512F.ShiftRightLogical(d4, 26); h4 = d4 & mask;
        h0 += c + Avx512F.ShiftLeftLogical(c, 2);
        c = Avx512F.ShiftRightLogical(h0, 26); h0 &= mask; h1 += c;
    }

    /// <summary>32×32→64-bit multiply of each lane's low words (<c>vpmuludq</c>); every limb is below 2^32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mul(Vector512<ulong> a, Vector512<ulong> b) => Avx512F.Multiply(a.AsUInt32(), b.AsUInt32());
}

/// <summary>
/// The two vector kernels of a multi-frame path; <see cref="FrameAead"/> runs the rest (the group loop, which blocks a
/// batch computes, the XOR, the authentication check) over them. Implemented (statically) by structs, so that
/// <see cref="FrameAead.Seal{T}"/> and <see cref="FrameAead.Open{T}"/> are compiled once per path with the kernels
/// called directly.
/// </summary>
internal interface IFrameKernels
{
    /// <summary>Frames per group, the Poly1305 lanes (at most <see cref="FrameAead.MaxGroup"/>); a ChaCha20 batch has twice as many.</summary>
    static abstract int Group { get; }

    /// <summary>
    /// One batch of 2 · <see cref="Group"/> ChaCha20 blocks (RFC 8439 2.3): lane j has block counter
    /// <paramref name="ctr"/>[j] and nonce <c>0 ‖ lo[j] ‖ hi[j]</c>; its 64-byte keystream block goes to
    /// <paramref name="blocks"/>[64j…].
    /// </summary>
    static abstract void ChaCha(in FrameAead.KeyWords key, ReadOnlySpan<uint> ctr, ReadOnlySpan<uint> lo, ReadOnlySpan<uint> hi, Span<byte> blocks);

    /// <summary>The AEAD's Poly1305 tag of each of the <paramref name="n"/> frames of <paramref name="group"/>, all
    /// frames side by side (it costs the same for one frame as for <see cref="Group"/>).</summary>
    static abstract void Poly1305(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags);

    /// <summary>Groups of up to this many frames take <see cref="Poly1305Wide"/> frame by frame instead.</summary>
    static abstract int WideMaxFrames { get; }

    /// <summary>The tag of one 1028-byte ciphertext <paramref name="frame"/>, several of its blocks side by side.</summary>
    static abstract void Poly1305Wide(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, Span<byte> tag);
}

/// <summary>
/// The parts of the multi-frame ChaCha20-Poly1305 that do not depend on the vector width: the key words, the group
/// loop of sealing and opening, which blocks each ChaCha20 batch computes, and the scalar ends of Poly1305 (clamping
/// r, the last partial block, the final reduction). Same constant-time rules as the kernels.
/// </summary>
/// <remarks>
/// A group of G frames (G = <see cref="IFrameKernels.Group"/>): one batch computes block 0 (the Poly1305 key) of each
/// frame in lanes 0…G−1 and block 17 (the keystream of the frame's last 4 bytes) in lanes G…2G−1; then 8 / G batches
/// per frame compute blocks 1–16, which cover its first 1024 bytes. That is 18 blocks per frame, none wasted.
/// </remarks>
internal static partial class FrameAead
{
    public const int FrameSize = SecretConnectionCipher.FrameSize;          // 1028: sealed in place
    public const int SealedSize = SecretConnectionCipher.SealedFrameSize;   // 1044: frame + tag

    /// <summary>The largest group a path may use (the AVX-512 path's 8).</summary>
    public const int MaxGroup = 8;

    /// <summary>The key as eight little-endian words.</summary>
    [InlineArray(8)]
    public struct KeyWords
    {
        private uint _w;

        public static KeyWords From(ReadOnlySpan<byte> key)
        {
            var k = new KeyWords();
            for (var i = 0; i < 8; i++) k[i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(4 * i)..]);
            return k;
        }
    }

    [InlineArray(MaxGroup * 32)]
    private struct PolyKeys
    {
        private byte _b;
    }

    [InlineArray(MaxGroup * 16)]
    private struct Tags
    {
        private byte _b;
    }

    [InlineArray(MaxGroup)]
    private struct Tails
    {
        private uint _w;
    }

    /// <summary>A batch's output: 64 bytes per lane.</summary>
    [InlineArray(2 * MaxGroup * 64)]
    private struct Blocks
    {
        private byte _b;
    }

    /// <summary>A batch's input: counters, then the nonce's low words, then its high words (2 · MaxGroup each).</summary>
    [InlineArray(3 * 2 * MaxGroup)]
    private struct Lanes
    {
        private uint _w;
    }

    /// <summary>Seals <paramref name="count"/> consecutive frames (nonces <paramref name="counter"/>…) in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Seal<T>(in KeyWords key, ulong counter, Span<byte> frames, int count) where T : struct, IFrameKernels
    {
        var keys = new PolyKeys();
        var tails = new Tails();
        var blocks = new Blocks();
        var lanes = new Lanes();
        for (var done = 0; done < count; done += T.Group)
        {
            var n = Math.Min(T.Group, count - done);
            var group = frames.Slice(done * SealedSize, n * SealedSize);
            KeysAndTails<T>(key, counter + (ulong)done, n, keys, tails, lanes, blocks);
            for (var f = 0; f < n; f++)
                XorData<T>(key, counter + (ulong)(done + f), group.Slice(f * SealedSize, FrameSize), tails[f], lanes, blocks);
            var tags = new Tags();
            GroupTags<T>(group, n, keys, tags);
            for (var f = 0; f < n; f++)
                ((ReadOnlySpan<byte>)tags)[(16 * f)..(16 * f + 16)].CopyTo(group[(f * SealedSize + FrameSize)..]);
        }
        // The one-time keys and keystream (ZeroMemory is not optimised away, unlike a dead store).
        CryptographicOperations.ZeroMemory(keys);
        CryptographicOperations.ZeroMemory(blocks);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes((Span<uint>)tails));
    }

    /// <summary>
    /// Authenticates and opens <paramref name="count"/> consecutive sealed frames in place. Returns how many leading
    /// frames were authentic and are now plaintext; the first frame that failed (if any) is zeroed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Open<T>(in KeyWords key, ulong counter, Span<byte> frames, int count) where T : struct, IFrameKernels
    {
        var keys = new PolyKeys();
        var tails = new Tails();
        var blocks = new Blocks();
        var lanes = new Lanes();
        var opened = count;
        for (var done = 0; done < count; done += T.Group)
        {
            var n = Math.Min(T.Group, count - done);
            var group = frames.Slice(done * SealedSize, n * SealedSize);
            // The tails are kept for after authentication: nothing is decrypted before its tag is checked.
            KeysAndTails<T>(key, counter + (ulong)done, n, keys, tails, lanes, blocks);
            var tags = new Tags();
            GroupTags<T>(group, n, keys, tags);
            var good = 0;
            while (good < n && CryptographicOperations.FixedTimeEquals(
                       ((ReadOnlySpan<byte>)tags).Slice(16 * good, 16), group.Slice(good * SealedSize + FrameSize, 16)))
                good++;
            for (var f = 0; f < good; f++)
                XorData<T>(key, counter + (ulong)(done + f), group.Slice(f * SealedSize, FrameSize), tails[f], lanes, blocks);
            if (good < n)
            {
                group.Slice(good * SealedSize, SealedSize).Clear();
                opened = done + good;
                break;
            }
        }
        CryptographicOperations.ZeroMemory(keys);
        CryptographicOperations.ZeroMemory(blocks);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes((Span<uint>)tails));
        return opened;
    }

    /// <summary>
    /// One batch for frames <paramref name="counter"/>… (<paramref name="n"/> of them, lanes past n repeat the last):
    /// frame f's 32-byte Poly1305 key (block 0, lane f) into <paramref name="keys"/>[32f…], the keystream word of its
    /// bytes 1024–1027 (block 17, lane G + f) into <paramref name="tails"/>[f].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeysAndTails<T>(in KeyWords key, ulong counter, int n, Span<byte> keys, Span<uint> tails,
        Span<uint> lanes, Span<byte> blocks) where T : struct, IFrameKernels
    {
        var width = 2 * T.Group;
        var ctr = lanes[..width];
        var lo = lanes.Slice(2 * MaxGroup, width);
        var hi = lanes.Slice(4 * MaxGroup, width);
        for (var lane = 0; lane < width; lane++)
        {
            var nonce = counter + (ulong)Math.Min(lane % T.Group, n - 1);
            ctr[lane] = lane < T.Group ? 0u : 17u;
            lo[lane] = (uint)nonce;
            hi[lane] = (uint)(nonce >> 32);
        }
        T.ChaCha(key, ctr, lo, hi, blocks);
        for (var f = 0; f < n; f++)
        {
            blocks.Slice(64 * f, 32).CopyTo(keys[(32 * f)..]);
            tails[f] = BinaryPrimitives.ReadUInt32LittleEndian(blocks[(64 * (T.Group + f))..]);
        }
    }

    /// <summary>
    /// XORs the keystream of the frame with nonce <paramref name="nonce"/> into it: blocks 1–16 (in batches of 2G)
    /// into its first 1024 bytes, <paramref name="tail"/> into the last 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorData<T>(in KeyWords key, ulong nonce, Span<byte> frame, uint tail, Span<uint> lanes, Span<byte> blocks)
        where T : struct, IFrameKernels
    {
        var width = 2 * T.Group;
        var ctr = lanes[..width];
        var lo = lanes.Slice(2 * MaxGroup, width);
        var hi = lanes.Slice(4 * MaxGroup, width);
        lo.Fill((uint)nonce);
        hi.Fill((uint)(nonce >> 32));
        ref var d = ref MemoryMarshal.GetReference(frame);
        ref var k = ref MemoryMarshal.GetReference(blocks);
        for (var first = 0; first < 16; first += width)
        {
            for (var lane = 0; lane < width; lane++) ctr[lane] = (uint)(1 + first + lane);
            T.ChaCha(key, ctr, lo, hi, blocks);
            for (var at = 0; at < 64 * width; at += 32)
            {
                var to = (nuint)(64 * first + at);
                (Vector256.LoadUnsafe(ref d, to) ^ Vector256.LoadUnsafe(ref k, (nuint)at)).StoreUnsafe(ref d, to);
            }
        }
        XorTail(frame, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorTail(Span<byte> frame, uint keystream)
    {
        ref var at = ref frame[1024];
        Unsafe.WriteUnaligned(ref at, Unsafe.ReadUnaligned<uint>(ref at) ^ keystream);
    }

    /// <summary>
    /// The clamped r of each lane's one-time key as five 26-bit limbs: <paramref name="k"/>[lanes · i + f] is limb i
    /// of lane f (lanes = k.Length / 5). Lanes past <paramref name="n"/> repeat the last frame.
    /// </summary>
    public static void ClampedLimbs(ReadOnlySpan<byte> keys, int n, Span<ulong> k)
    {
        var lanes = k.Length / 5;
        for (var f = 0; f < lanes; f++)
        {
            var key = keys.Slice(32 * Math.Min(f, n - 1), 16);
            k[f] = BinaryPrimitives.ReadUInt32LittleEndian(key) & 0x3ffffff;
            k[lanes + f] = (BinaryPrimitives.ReadUInt32LittleEndian(key[3..]) >> 2) & 0x3ffff03;
            k[2 * lanes + f] = (BinaryPrimitives.ReadUInt32LittleEndian(key[6..]) >> 4) & 0x3ffc0ff;
            k[3 * lanes + f] = (BinaryPrimitives.ReadUInt32LittleEndian(key[9..]) >> 6) & 0x3f03fff;
            k[4 * lanes + f] = (BinaryPrimitives.ReadUInt32LittleEndian(key[12..]) >> 8) & 0x00fffff;
        }
    }

    /// <summary>Where lane f's frame starts in the group (lanes past <paramref name="n"/> repeat the last frame).</summary>
    public static void LaneOffsets(int n, Span<int> offsets)
    {
        for (var f = 0; f < offsets.Length; f++) offsets[f] = SealedSize * Math.Min(f, n - 1);
    }

    /// <summary>Each lane's Poly1305 block 64: its frame's last 4 ciphertext bytes, zero-padded (as a low 64-bit word).</summary>
    public static void LastBlocks(ReadOnlySpan<byte> group, ReadOnlySpan<int> offsets, Span<ulong> last)
    {
        for (var f = 0; f < offsets.Length; f++) last[f] = BinaryPrimitives.ReadUInt32LittleEndian(group[(offsets[f] + 1024)..]);
    }

    /// <summary>
    /// Finishes the first <paramref name="n"/> lanes: <paramref name="hs"/>[lanes · i + f] is limb i of lane f's
    /// accumulator (lanes = hs.Length / 5); the tag of frame f goes to <paramref name="tags"/>[16f…]. Clears
    /// <paramref name="hs"/>.
    /// </summary>
    public static void FinishAll(Span<ulong> hs, int n, ReadOnlySpan<byte> keys, Span<byte> tags)
    {
        var lanes = hs.Length / 5;
        for (var f = 0; f < n; f++)
            Finish(hs[f], hs[lanes + f], hs[2 * lanes + f], hs[3 * lanes + f], hs[4 * lanes + f],
                keys.Slice(32 * f + 16, 16), tags.Slice(16 * f, 16));
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(hs));
    }

    /// <summary>Fully reduces h mod 2^130 − 5 (branch-free), adds s and writes the 16-byte tag.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Finish(ulong h0, ulong h1, ulong h2, ulong h3, ulong h4, ReadOnlySpan<byte> s, Span<byte> tag)
    {
        const ulong m = 0x3ffffff;
        ulong c;
        c = h1 >> 26; h1 &= m; h2 += c;
        c = h2 >> 26; h2 &= m; h3 += c;
        c = h3 >> 26; h3 &= m; h4 += c;
        c = h4 >> 26; h4 &= m; h0 += c * 5;
        c = h0 >> 26; h0 &= m; h1 += c;

        // g = h + 5 − 2^130; keep it when it did not borrow (h ≥ p).
        var g0 = h0 + 5; c = g0 >> 26; g0 &= m;
        var g1 = h1 + c; c = g1 >> 26; g1 &= m;
        var g2 = h2 + c; c = g2 >> 26; g2 &= m;
        var g3 = h3 + c; c = g3 >> 26; g3 &= m;
        var g4 = h4 + c - (1UL << 26);
        var keepG = (g4 >> 63) - 1; // all ones when g4 did not go negative
        var keepH = ~keepG;
        h0 = (h0 & keepH) | (g0 & keepG);
        h1 = (h1 & keepH) | (g1 & keepG);
        h2 = (h2 & keepH) | (g2 & keepG);
        h3 = (h3 & keepH) | (g3 & keepG);
        h4 = (h4 & keepH) | (g4 & keepG & m);

        // To 4 × 32 bits, then + s mod 2^128.
        var w0 = (h0 | (h1 << 26)) & 0xffffffff;
        var w1 = ((h1 >> 6) | (h2 << 20)) & 0xffffffff;
        var w2 = ((h2 >> 12) | (h3 << 14)) & 0xffffffff;
        var w3 = ((h3 >> 18) | (h4 << 8)) & 0xffffffff;
        var f = w0 + BinaryPrimitives.ReadUInt32LittleEndian(s);
        BinaryPrimitives.WriteUInt32LittleEndian(tag, (uint)f);
        f = w1 + BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) + (f >> 32);
        BinaryPrimitives.WriteUInt32LittleEndian(tag[4..], (uint)f);
        f = w2 + BinaryPrimitives.ReadUInt32LittleEndian(s[8..]) + (f >> 32);
        BinaryPrimitives.WriteUInt32LittleEndian(tag[8..], (uint)f);
        f = w3 + BinaryPrimitives.ReadUInt32LittleEndian(s[12..]) + (f >> 32);
        BinaryPrimitives.WriteUInt32LittleEndian(tag[12..], (uint)f);
    }
}
