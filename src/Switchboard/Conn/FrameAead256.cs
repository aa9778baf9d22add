using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace Switchboard.Conn;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) for runs of SecretConnection frames, several frames at a time with AVX2: the same
/// frames, layout and bytes as <see cref="FrameAead512"/>, for CPUs without AVX-512.
/// </summary>
/// <remarks>
/// <para>ChaCha20 computes 8 blocks at once (one block per 32-bit lane of sixteen 256-bit registers; AVX2 has no
/// vector rotate, so the 16- and 8-bit rotations are byte shuffles and the 12- and 7-bit ones two shifts), and
/// Poly1305 runs 4 frames side by side (one frame per 64-bit lane, 26-bit limbs, <c>vpmuludq</c>).</para>
/// <para>Layout of one group of up to 4 frames: one ChaCha batch computes block 0 (the Poly1305 key) of each frame in
/// lanes 0–3 and block 17 (the frame's last 4 bytes) in lanes 4–7; then two batches per frame compute blocks 1–8 and
/// 9–16, which cover the frame's first 1024 bytes. Four frames cost nine batches, the minimum for 72 blocks. That
/// layout, the group loop and the scalar parts of Poly1305 are <see cref="FrameAead"/>'s, shared with the AVX-512
/// path; this type has the two 256-bit kernels, the ChaCha20 batch and Poly1305x4.</para>
/// <para>Constant time by construction: the arithmetic has no secret-dependent branches or table lookups (the byte
/// shuffles use fixed control vectors); the final reduction selects with masks; tags are compared with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>. The only branches are on public facts (frame counts, which
/// frame failed to authenticate).</para>
/// <para>Verified like the AVX-512 path: RFC 8439's test vectors, a BigInteger Poly1305, the golden CometBFT
/// transcript (with <c>SWITCHBOARD_AEAD=avx2</c>) and, differentially, the BCL's <see cref="ChaCha20Poly1305"/>
/// (tests/Conn/FrameAeadTests, the <c>aead</c> fuzz target).</para>
/// </remarks>
internal readonly partial struct FrameAead256 : IFrameKernels
{
    // The kernels are [AggressiveOptimization], for the same reason as FrameAead512's: unoptimized tier-0 code does
    // not inline the vector helpers.

    /// <summary>True when this machine can run the AVX2 path (AVX2 is all it uses).</summary>
    public static bool IsSupported => Avx2.IsSupported;

    private const int Group = 4;

    /// <summary>Sixteen 256-bit vectors: the output of <c>ChaCha8</c>, block j in elements 2j (words 0–7) and 2j + 1.</summary>
    [InlineArray(16)]
    internal struct Block8
    {
        private Vector256<uint> _v;
    }

    static int IFrameKernels.Group => Group;

    static void IFrameKernels.Poly1305(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags) =>
        Poly1305x4(group, n, keys, tags);

    static void IFrameKernels.ChaCha(in FrameAead.KeyWords key, ReadOnlySpan<uint> ctr, ReadOnlySpan<uint> lo, ReadOnlySpan<uint> hi, Span<byte> blocks) =>
        ChaCha8(key, Vector256.Create(ctr), Vector256.Create(lo), Vector256.Create(hi), ref MemoryMarshal.AsRef<Block8>(blocks));

    /// <summary>
    /// Eight ChaCha20 blocks (RFC 8439 2.3): lane j has block counter <paramref name="ctr"/>[j] and nonce
    /// <c>0 ‖ lo[j] ‖ hi[j]</c> (words 13–15). On return <paramref name="output"/>[2j], [2j + 1] are lane j's 64-byte
    /// keystream block.
    /// </summary>
    internal static void ChaCha8(in FrameAead.KeyWords key, Vector256<uint> ctr, Vector256<uint> lo, Vector256<uint> hi, ref Block8 output) =>
        ChaCha8(key, ctr, Vector256<uint>.Zero, lo, hi, ref output);

    /// <summary>As above with nonce word 13 given too (RFC 8439's test vectors use it; frames never do).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ChaCha8(in FrameAead.KeyWords key, Vector256<uint> ctr, Vector256<uint> n13, Vector256<uint> lo, Vector256<uint> hi, ref Block8 output)
    {
        // vpshufb controls (per 128-bit lane) that rotate every 32-bit word left by 16 and by 8 bits.
        var rot16 = Vector256.Create(0x0504070601000302UL, 0x0D0C0F0E09080B0AUL, 0x0504070601000302UL, 0x0D0C0F0E09080B0AUL).AsByte();
        var rot8 = Vector256.Create(0x0605040702010003UL, 0x0E0D0C0F0A09080BUL, 0x0605040702010003UL, 0x0E0D0C0F0A09080BUL).AsByte();
        var x0 = Vector256.Create(0x61707865u);
        var x1 = Vector256.Create(0x3320646eu);
        var x2 = Vector256.Create(0x79622d32u);
        var x3 = Vector256.Create(0x6b206574u);
        var x4 = Vector256.Create(key[0]);
        var x5 = Vector256.Create(key[1]);
        var x6 = Vector256.Create(key[2]);
        var x7 = Vector256.Create(key[3]);
        var x8 = Vector256.Create(key[4]);
        var x9 = Vector256.Create(key[5]);
        var x10 = Vector256.Create(key[6]);
        var x11 = Vector256.Create(key[7]);
        var x12 = ctr;
        var x13 = n13;
        var x14 = lo;
        var x15 = hi;
        for (var round = 0; round < 10; round++)
        {
            // Column round.
            Quarter(ref x0, ref x4, ref x8, ref x12, rot16, rot8);
            Quarter(ref x1, ref x5, ref x9, ref x13, rot16, rot8);
            Quarter(ref x2, ref x6, ref x10, ref x14, rot16, rot8);
            Quarter(ref x3, ref x7, ref x11, ref x15, rot16, rot8);
            // Diagonal round.
            Quarter(ref x0, ref x5, ref x10, ref x15, rot16, rot8);
            Quarter(ref x1, ref x6, ref x11, ref x12, rot16, rot8);
            Quarter(ref x2, ref x7, ref x8, ref x13, rot16, rot8);
            Quarter(ref x3, ref x4, ref x9, ref x14, rot16, rot8);
        }
        x0 += Vector256.Create(0x61707865u);
        x1 += Vector256.Create(0x3320646eu);
        x2 += Vector256.Create(0x79622d32u);
        x3 += Vector256.Create(0x6b206574u);
        x4 += Vector256.Create(key[0]);
        x5 += Vector256.Create(key[1]);
        x6 += Vector256.Create(key[2]);
        x7 += Vector256.Create(key[3]);
        x8 += Vector256.Create(key[4]);
        x9 += Vector256.Create(key[5]);
        x10 += Vector256.Create(key[6]);
        x11 += Vector256.Create(key[7]);
        x12 += ctr;
        x13 += n13;
        x14 += lo;
        x15 += hi;
        // Words 0–7 of each block, then words 8–15.
        Transpose8(x0, x1, x2, x3, x4, x5, x6, x7, ref output, 0);
        Transpose8(x8, x9, x10, x11, x12, x13, x14, x15, ref output, 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quarter(ref Vector256<uint> a, ref Vector256<uint> b, ref Vector256<uint> c, ref Vector256<uint> d,
        Vector256<byte> rot16, Vector256<byte> rot8)
    {
        a += b; d = Avx2.Shuffle((d ^ a).AsByte(), rot16).AsUInt32();
        c += d; b ^= c; b = (b << 12) | (b >> 20);
        a += b; d = Avx2.Shuffle((d ^ a).AsByte(), rot8).AsUInt32();
        c += d; b ^= c; b = (b << 7) | (b >> 25);
    }

    /// <summary>
    /// Input: x[w] lane j = word <c>8h + w</c> of block j. Output: y[2j + h] lane w = word <c>8h + w</c> of block j.
    /// 32-bit then 64-bit unpacks transpose the 4×4 words inside each 128-bit lane; swapping 128-bit lanes finishes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<uint> x0, Vector256<uint> x1, Vector256<uint> x2, Vector256<uint> x3,
        Vector256<uint> x4, Vector256<uint> x5, Vector256<uint> x6, Vector256<uint> x7, ref Block8 y, int h)
    {
        // b[4k+m], 128-bit lane L = words 4k..4k+3 (of this half) of block 4L+m.
        Words4(x0, x1, x2, x3, out var b0, out var b1, out var b2, out var b3);
        Words4(x4, x5, x6, x7, out var b4, out var b5, out var b6, out var b7);
        // Block m: lane 0 of b[m] and of b[4+m]; block 4+m: their lanes 1.
        y[2 * 0 + h] = Avx2.Permute2x128(b0, b4, 0x20);
        y[2 * 4 + h] = Avx2.Permute2x128(b0, b4, 0x31);
        y[2 * 1 + h] = Avx2.Permute2x128(b1, b5, 0x20);
        y[2 * 5 + h] = Avx2.Permute2x128(b1, b5, 0x31);
        y[2 * 2 + h] = Avx2.Permute2x128(b2, b6, 0x20);
        y[2 * 6 + h] = Avx2.Permute2x128(b2, b6, 0x31);
        y[2 * 3 + h] = Avx2.Permute2x128(b3, b7, 0x20);
        y[2 * 7 + h] = Avx2.Permute2x128(b3, b7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Words4(Vector256<uint> p, Vector256<uint> q, Vector256<uint> r, Vector256<uint> s,
        out Vector256<uint> m0, out Vector256<uint> m1, out Vector256<uint> m2, out Vector256<uint> m3)
    {
        var a0 = Avx2.UnpackLow(p, q).AsUInt64();
        var a1 = Avx2.UnpackHigh(p, q).AsUInt64();
        var a2 = Avx2.UnpackLow(r, s).AsUInt64();
        var a3 = Avx2.UnpackHigh(r, s).AsUInt64();
        m0 = Avx2.UnpackLow(a0, a2).AsUInt32();
        m1 = Avx2.UnpackHigh(a0, a2).AsUInt32();
        m2 = Avx2.UnpackLow(a1, a3).AsUInt32();
        m3 = Avx2.UnpackHigh(a1, a3).AsUInt32();
    }

    /// <summary>
    /// Poly1305 (RFC 8439 2.5, 2.8) of each frame's 1028 ciphertext bytes as the AEAD defines it (no AAD, ciphertext
    /// zero-padded to 16, then the two 64-bit lengths), four frames side by side. Lanes past <paramref name="n"/>
    /// repeat the last frame and are ignored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Poly1305x4(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags)
    {
        Span<ulong> k = stackalloc ulong[5 * Group];
        FrameAead.ClampedLimbs(keys, n, k);
        var r0 = Vector256.Create<ulong>(k[..4]);
        var r1 = Vector256.Create<ulong>(k[4..8]);
        var r2 = Vector256.Create<ulong>(k[8..12]);
        var r3 = Vector256.Create<ulong>(k[12..16]);
        var r4 = Vector256.Create<ulong>(k[16..20]);
        var s1 = r1 * 5;
        var s2 = r2 * 5;
        var s3 = r3 * 5;
        var s4 = r4 * 5;
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(k));

        var h0 = Vector256<ulong>.Zero;
        var h1 = Vector256<ulong>.Zero;
        var h2 = Vector256<ulong>.Zero;
        var h3 = Vector256<ulong>.Zero;
        var h4 = Vector256<ulong>.Zero;

        ref var g = ref MemoryMarshal.GetReference(group);
        Span<int> offsets = stackalloc int[Group];
        FrameAead.LaneOffsets(n, offsets);

        // Blocks 0–63: the first 1024 ciphertext bytes, two blocks of four frames per step.
        for (var at = 0; at < 1024; at += 32)
        {
            var f0 = Vector256.LoadUnsafe(ref g, (nuint)(offsets[0] + at)).AsUInt64();
            var f1 = Vector256.LoadUnsafe(ref g, (nuint)(offsets[1] + at)).AsUInt64();
            var f2 = Vector256.LoadUnsafe(ref g, (nuint)(offsets[2] + at)).AsUInt64();
            var f3 = Vector256.LoadUnsafe(ref g, (nuint)(offsets[3] + at)).AsUInt64();
            // 128-bit lane L of fj = (lo, hi) of block L of frame j; regroup into lo and hi of one block across frames.
            var lo01 = Avx2.UnpackLow(f0, f1);   // f0.lo0 f1.lo0 f0.lo1 f1.lo1
            var hi01 = Avx2.UnpackHigh(f0, f1);
            var lo23 = Avx2.UnpackLow(f2, f3);
            var hi23 = Avx2.UnpackHigh(f2, f3);
            var lo0 = Avx2.Permute2x128(lo01, lo23, 0x20); // block 0 of frames 0–3
            var hi0 = Avx2.Permute2x128(hi01, hi23, 0x20);
            var lo1 = Avx2.Permute2x128(lo01, lo23, 0x31); // block 1
            var hi1 = Avx2.Permute2x128(hi01, hi23, 0x31);
            Block(lo0, hi0, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
            Block(lo1, hi1, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
        }
        // Block 64: the last 4 ciphertext bytes, zero-padded to a full block. Block 65: le64(AAD length = 0) ‖ le64(1028).
        Span<ulong> last = stackalloc ulong[Group];
        FrameAead.LastBlocks(group, offsets, last);
        Block(Vector256.Create<ulong>(last), Vector256<ulong>.Zero, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
        Block(Vector256<ulong>.Zero, Vector256.Create((ulong)FrameAead.FrameSize), ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, s1, s2, s3, s4);

        Span<ulong> hs = stackalloc ulong[5 * Group];
        h0.CopyTo(hs);
        h1.CopyTo(hs[4..]);
        h2.CopyTo(hs[8..]);
        h3.CopyTo(hs[12..]);
        h4.CopyTo(hs[16..]);
        FrameAead.FinishAll(hs, n, keys, tags);
    }

    /// <summary>h = (h + m + 2^128) · r mod 2^130 − 5, limbs of 26 bits (partially reduced), four lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(Vector256<ulong> lo, Vector256<ulong> hi,
        ref Vector256<ulong> h0, ref Vector256<ulong> h1, ref Vector256<ulong> h2, ref Vector256<ulong> h3, ref Vector256<ulong> h4,
        Vector256<ulong> r0, Vector256<ulong> r1, Vector256<ulong> r2, Vector256<ulong> r3, Vector256<ulong> r4,
        Vector256<ulong> s1, Vector256<ulong> s2, Vector256<ulong> s3, Vector256<ulong> s4)
    {
        var mask = Vector256.Create(0x3ffffffUL);
        h0 += lo & mask;
        h1 += Avx2.ShiftRightLogical(lo, 26) & mask;
        h2 += (Avx2.ShiftRightLogical(lo, 52) | Avx2.ShiftLeftLogical(hi, 12)) & mask;
        h3 += Avx2.ShiftRightLogical(hi, 14) & mask;
        h4 += Avx2.ShiftRightLogical(hi, 40) | Vector256.Create(1UL << 24);

        var d0 = Mul(h0, r0) + Mul(h1, s4) + Mul(h2, s3) + Mul(h3, s2) + Mul(h4, s1);
        var d1 = Mul(h0, r1) + Mul(h1, r0) + Mul(h2, s4) + Mul(h3, s3) + Mul(h4, s2);
        var d2 = Mul(h0, r2) + Mul(h1, r1) + Mul(h2, r0) + Mul(h3, s4) + Mul(h4, s3);
        var d3 = Mul(h0, r3) + Mul(h1, r2) + Mul(h2, r1) + Mul(h3, r0) + Mul(h4, s4);
        var d4 = Mul(h0, r4) + Mul(h1, r3) + Mul(h2, r2) + Mul(h3, r1) + Mul(h4, r0);

        var c = Avx2.ShiftRightLogical(d0, 26); h0 = d0 & mask; d1 += c;
        c = Avx2.ShiftRightLogical(d1, 26); h1 = d1 & mask; d2 += c;
        c = Avx2.ShiftRightLogical(d2, 26); h2 = d2 & mask; d3 += c;
        c = Avx2.ShiftRightLogical(d3, 26); h3 = d3 & mask; d4 += c;
        c = Avx2.ShiftRightLogical(d4, 26); h4 = d4 & mask;
        h0 += c + Avx2.ShiftLeftLogical(c, 2);
        c = Avx2.ShiftRightLogical(h0, 26); h0 &= mask; h1 += c;
    }

    /// <summary>32×32→64-bit multiply of each lane's low words (<c>vpmuludq</c>); every limb is below 2^32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Mul(Vector256<ulong> a, Vector256<ulong> b) => Avx2.Multiply(a.AsUInt32(), b.AsUInt32());
}
