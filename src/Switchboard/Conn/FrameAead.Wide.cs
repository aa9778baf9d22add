using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace Switchboard.Conn;

/// <summary>
/// Poly1305 of one frame at a time, several of its blocks side by side: the path for small runs (a lone frame, a
/// 1 KiB message's two frames), where the multi-frame kernels would do the work of a whole group for one frame.
/// </summary>
/// <remarks>
/// A frame's MAC input is 66 blocks: 64 of ciphertext, the last 4 ciphertext bytes zero-padded, then the lengths.
/// Written out, the tag's accumulator is Σ mᵢ·r^(67−i). With L lanes, lane j takes the blocks whose offset in each
/// run of L is j: every step but the last multiplies every lane by r^L, the last multiplies lane j by r^(L−j); the
/// lanes are then summed and the last two blocks follow one at a time (·r², ·r). Powers of r are not clamped, but
/// every limb stays below 2^27 before a multiply, so each 64-bit sum of five 26×29-bit products stays below 2^59,
/// the bound the multi-frame kernels work in too. Constant time: no branch or index depends on the key or the data.
/// </remarks>
internal static partial class FrameAead
{
    /// <summary>The tags of a group of <paramref name="n"/> frames, by whichever of the path's kernels is cheaper for n.</summary>
    private static void GroupTags<T>(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags) where T : struct, IFrameKernels
    {
        if (n > T.WideMaxFrames)
        {
            T.Poly1305(group, n, keys, tags);
            return;
        }
        for (var f = 0; f < n; f++)
            T.Poly1305Wide(group.Slice(f * SealedSize, FrameSize), keys.Slice(32 * f, 32), tags.Slice(16 * f, 16));
    }

    /// <summary>pw[5(k−1) + i] = limb i (26 bits) of r^k for k = 1…<paramref name="count"/>, r clamped from the
    /// one-time <paramref name="key"/>.</summary>
    public static void PowersOfR(ReadOnlySpan<byte> key, Span<ulong> pw, int count)
    {
        ClampedLimbs(key[..32], 1, pw[..5]);
        for (var k = 1; k < count; k++)
            MulMod(pw.Slice(5 * (k - 1), 5), pw[..5], pw.Slice(5 * k, 5));
    }

    /// <summary>
    /// The tag from the lanes' summed limbs <paramref name="a0"/>…<paramref name="a4"/> (each below 2^30): carries
    /// them back to 26 bits, adds blocks 65 and 66 of the frame's MAC input, reduces and adds s.
    /// </summary>
    public static void FinishWide(ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ReadOnlySpan<byte> frame,
        ReadOnlySpan<ulong> r, ReadOnlySpan<byte> key, Span<byte> tag)
    {
        Carry(a0, a1, a2, a3, a4, out a0, out a1, out a2, out a3, out a4);
        // Block 65: the last 4 ciphertext bytes, zero-padded. Block 66: le64(AAD length = 0) ‖ le64(1028).
        ScalarBlock(ref a0, ref a1, ref a2, ref a3, ref a4, BinaryPrimitives.ReadUInt32LittleEndian(frame[1024..]), 0, r);
        ScalarBlock(ref a0, ref a1, ref a2, ref a3, ref a4, 0, FrameSize, r);
        Finish(a0, a1, a2, a3, a4, key.Slice(16, 16), tag);
    }

    /// <summary>c = a · b mod 2^130 − 5 in 26-bit limbs (partially reduced: c₁ may exceed 2^26 by a few bits).</summary>
    private static void MulMod(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> c)
    {
        ulong b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], b4 = b[4];
        ulong s1 = b1 * 5, s2 = b2 * 5, s3 = b3 * 5, s4 = b4 * 5;
        ulong a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4];
        var d0 = a0 * b0 + a1 * s4 + a2 * s3 + a3 * s2 + a4 * s1;
        var d1 = a0 * b1 + a1 * b0 + a2 * s4 + a3 * s3 + a4 * s2;
        var d2 = a0 * b2 + a1 * b1 + a2 * b0 + a3 * s4 + a4 * s3;
        var d3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + a4 * s4;
        var d4 = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0;
        Carry(d0, d1, d2, d3, d4, out c[0], out c[1], out c[2], out c[3], out c[4]);
    }

    /// <summary>h = (h + m + 2^128) · r mod 2^130 − 5 for one block (lo, hi), scalar.</summary>
    private static void ScalarBlock(ref ulong h0, ref ulong h1, ref ulong h2, ref ulong h3, ref ulong h4, ulong lo, ulong hi, ReadOnlySpan<ulong> r)
    {
        const ulong m = 0x3ffffff;
        h0 += lo & m;
        h1 += (lo >> 26) & m;
        h2 += ((lo >> 52) | (hi << 12)) & m;
        h3 += (hi >> 14) & m;
        h4 += (hi >> 40) | (1UL << 24);
        Span<ulong> h = [h0, h1, h2, h3, h4];
        MulMod(h, r, h);
        (h0, h1, h2, h3, h4) = (h[0], h[1], h[2], h[3], h[4]);
    }

    /// <summary>Carries 64-bit limb sums back to 26-bit limbs mod 2^130 − 5 (the top carry folds in times 5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Carry(ulong d0, ulong d1, ulong d2, ulong d3, ulong d4,
        out ulong h0, out ulong h1, out ulong h2, out ulong h3, out ulong h4)
    {
        const ulong m = 0x3ffffff;
        var c = d0 >> 26; h0 = d0 & m; d1 += c;
        c = d1 >> 26; h1 = d1 & m; d2 += c;
        c = d2 >> 26; h2 = d2 & m; d3 += c;
        c = d3 >> 26; h3 = d3 & m; d4 += c;
        c = d4 >> 26; h4 = d4 & m;
        h0 += c * 5;
        c = h0 >> 26; h0 &= m; h1 += c;
    }
}

internal readonly partial struct FrameAead512
{
    /// <summary>Groups of up to this many frames take the one-frame path (about a sixth of the eight-frame kernel's
    /// cost per frame, which costs as much for one frame as for eight).</summary>
    static int IFrameKernels.WideMaxFrames => 4;

    static void IFrameKernels.Poly1305Wide(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, Span<byte> tag) =>
        Poly1305Wide(frame, key, tag);

    /// <summary>The Poly1305 tag (the AEAD's input: no AAD, padding, lengths) of one 1028-byte ciphertext
    /// <paramref name="frame"/> under the 32-byte one-time <paramref name="key"/>, eight of its blocks at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Poly1305Wide(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, Span<byte> tag)
    {
        if (frame.Length < FrameAead.FrameSize || key.Length < 32 || tag.Length < 16) throw new ArgumentException("frame, key or tag too short");
        Span<ulong> pw = stackalloc ulong[5 * 8];
        FrameAead.PowersOfR(key, pw, 8);

        // Every lane ·r⁸ until the last step; then lane j ·r^(8−j).
        var r0 = Vector512.Create(pw[35]);
        var r1 = Vector512.Create(pw[36]);
        var r2 = Vector512.Create(pw[37]);
        var r3 = Vector512.Create(pw[38]);
        var r4 = Vector512.Create(pw[39]);
        var h0 = Vector512<ulong>.Zero;
        var h1 = Vector512<ulong>.Zero;
        var h2 = Vector512<ulong>.Zero;
        var h3 = Vector512<ulong>.Zero;
        var h4 = Vector512<ulong>.Zero;
        var even = Vector512.Create(0UL, 2, 4, 6, 8, 10, 12, 14);
        var odd = Vector512.Create(1UL, 3, 5, 7, 9, 11, 13, 15);
        ref var d = ref MemoryMarshal.GetReference(frame);
        for (var at = 0; at < 1024; at += 128)
        {
            if (at == 1024 - 128)
            {
                r0 = Powers(pw, 0);
                r1 = Powers(pw, 1);
                r2 = Powers(pw, 2);
                r3 = Powers(pw, 3);
                r4 = Powers(pw, 4);
            }
            // Blocks at/16 … at/16 + 7: lane j gets block at/16 + j's low and high 64-bit words.
            var v0 = Vector512.LoadUnsafe(ref d, (nuint)at).AsUInt64();
            var v1 = Vector512.LoadUnsafe(ref d, (nuint)(at + 64)).AsUInt64();
            var lo = Avx512F.PermuteVar8x64x2(v0, even, v1);
            var hi = Avx512F.PermuteVar8x64x2(v0, odd, v1);
            Block(lo, hi, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        }
        FrameAead.FinishWide(Vector512.Sum(h0), Vector512.Sum(h1), Vector512.Sum(h2), Vector512.Sum(h3), Vector512.Sum(h4),
            frame, pw[..5], key, tag);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(pw));
    }

    /// <summary>Limb <paramref name="limb"/> of r^(8−j) in lane j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Powers(ReadOnlySpan<ulong> pw, int limb) =>
        Vector512.Create(pw[35 + limb], pw[30 + limb], pw[25 + limb], pw[20 + limb], pw[15 + limb], pw[10 + limb], pw[5 + limb], pw[limb]);
}

internal readonly partial struct FrameAead256
{
    /// <summary>Groups of up to this many frames take the one-frame path (the four-frame kernel costs as much for
    /// one frame as for four; the one-frame path about a third of that per frame).</summary>
    static int IFrameKernels.WideMaxFrames => 2;

    static void IFrameKernels.Poly1305Wide(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, Span<byte> tag) =>
        Poly1305Wide(frame, key, tag);

    /// <summary>As <see cref="FrameAead512.Poly1305Wide"/>, four blocks at a time with AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Poly1305Wide(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, Span<byte> tag)
    {
        if (frame.Length < FrameAead.FrameSize || key.Length < 32 || tag.Length < 16) throw new ArgumentException("frame, key or tag too short");
        Span<ulong> pw = stackalloc ulong[5 * 4];
        FrameAead.PowersOfR(key, pw, 4);

        // Two 256-bit loads hold blocks b…b+3 as (lo, hi) pairs; unpacking within 128-bit halves puts them in lanes
        // in the order b, b+2, b+1, b+3. So the last step multiplies those lanes by r⁴, r², r³, r¹.
        var r0 = Vector256.Create(pw[15]);
        var r1 = Vector256.Create(pw[16]);
        var r2 = Vector256.Create(pw[17]);
        var r3 = Vector256.Create(pw[18]);
        var r4 = Vector256.Create(pw[19]);
        var h0 = Vector256<ulong>.Zero;
        var h1 = Vector256<ulong>.Zero;
        var h2 = Vector256<ulong>.Zero;
        var h3 = Vector256<ulong>.Zero;
        var h4 = Vector256<ulong>.Zero;
        ref var d = ref MemoryMarshal.GetReference(frame);
        for (var at = 0; at < 1024; at += 64)
        {
            if (at == 1024 - 64)
            {
                r0 = Powers(pw, 0);
                r1 = Powers(pw, 1);
                r2 = Powers(pw, 2);
                r3 = Powers(pw, 3);
                r4 = Powers(pw, 4);
            }
            var v0 = Vector256.LoadUnsafe(ref d, (nuint)at).AsUInt64();
            var v1 = Vector256.LoadUnsafe(ref d, (nuint)(at + 32)).AsUInt64();
            var lo = Avx2.UnpackLow(v0, v1);
            var hi = Avx2.UnpackHigh(v0, v1);
            Block(lo, hi, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        }
        FrameAead.FinishWide(Vector256.Sum(h0), Vector256.Sum(h1), Vector256.Sum(h2), Vector256.Sum(h3), Vector256.Sum(h4),
            frame, pw[..5], key, tag);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(pw));
    }

    /// <summary>Limb <paramref name="limb"/> of r⁴, r², r³, r¹ (the lanes' block offsets 0, 2, 1, 3 from the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Powers(ReadOnlySpan<ulong> pw, int limb) =>
        Vector256.Create(pw[15 + limb], pw[5 + limb], pw[10 + limb], pw[limb]);
}
