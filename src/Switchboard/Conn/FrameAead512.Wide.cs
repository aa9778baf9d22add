using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace Switchboard.Conn;

/// <summary>
/// Poly1305 of one frame at a time, eight of its blocks side by side: the path for small runs (a lone frame, a 1 KiB
/// message's two frames), where <see cref="Poly1305x8"/> would do the work of eight frames for one.
/// </summary>
/// <remarks>
/// A frame's MAC input is 66 blocks: 64 of ciphertext, the last 4 ciphertext bytes zero-padded, then the lengths.
/// Written out, the tag's accumulator is Σ mᵢ·r^(67−i). Lane j takes blocks j+1, j+9, …, j+57: seven steps multiply
/// every lane by r⁸, the eighth multiplies lane j by r^(8−j); the lanes are then summed and the last two blocks
/// follow one at a time (·r², ·r). Powers of r are not clamped, but every limb stays below 2^27 before a multiply,
/// so each 64-bit sum of five 26×29-bit products stays below 2^59, the bound the eight-frame kernel works in too.
/// Constant time as the rest: no branch or index depends on the key or the data.
/// </remarks>
internal readonly partial struct FrameAead512
{
    /// <summary>Groups of up to this many frames take the one-frame path (it costs about a sixth of the eight-frame
    /// kernel per frame, which costs the same for one frame as for eight).</summary>
    private const int WideMaxFrames = 4;

    /// <summary>The tags of a group of <paramref name="n"/> frames, by whichever Poly1305 kernel is cheaper for n.</summary>
    private static void GroupTags(ReadOnlySpan<byte> group, int n, ReadOnlySpan<byte> keys, Span<byte> tags)
    {
        if (n > WideMaxFrames)
        {
            Poly1305x8(group, n, keys, tags);
            return;
        }
        for (var f = 0; f < n; f++)
            Poly1305Wide(group.Slice(f * FrameAead.SealedSize, FrameAead.FrameSize), keys.Slice(32 * f, 32), tags.Slice(16 * f, 16));
    }

    /// <summary>The Poly1305 tag (as the AEAD defines its input: no AAD, padding, lengths) of one 1028-byte
    /// ciphertext <paramref name="frame"/> under the 32-byte one-time <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Poly1305Wide(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, Span<byte> tag)
    {
        if (frame.Length < FrameAead.FrameSize || key.Length < 32 || tag.Length < 16) throw new ArgumentException("frame, key or tag too short");

        // pw[5(k−1) + i] = limb i of r^k, k = 1…8.
        Span<ulong> pw = stackalloc ulong[5 * Group];
        pw[0] = BinaryPrimitives.ReadUInt32LittleEndian(key) & 0x3ffffff;
        pw[1] = (BinaryPrimitives.ReadUInt32LittleEndian(key[3..]) >> 2) & 0x3ffff03;
        pw[2] = (BinaryPrimitives.ReadUInt32LittleEndian(key[6..]) >> 4) & 0x3ffc0ff;
        pw[3] = (BinaryPrimitives.ReadUInt32LittleEndian(key[9..]) >> 6) & 0x3f03fff;
        pw[4] = (BinaryPrimitives.ReadUInt32LittleEndian(key[12..]) >> 8) & 0x00fffff;
        for (var k = 1; k < Group; k++)
            MulMod(pw.Slice(5 * (k - 1), 5), pw[..5], pw.Slice(5 * k, 5));

        // Every lane ·r⁸ for the first seven steps; lane j ·r^(8−j) for the eighth.
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
            // Blocks at/16 … at/16 + 7: lane j's low and high 64-bit words.
            var v0 = Vector512.LoadUnsafe(ref d, (nuint)at).AsUInt64();
            var v1 = Vector512.LoadUnsafe(ref d, (nuint)(at + 64)).AsUInt64();
            var lo = Avx512F.PermuteVar8x64x2(v0, even, v1);
            var hi = Avx512F.PermuteVar8x64x2(v0, odd, v1);
            Block(lo, hi, ref h0, ref h1, ref h2, ref h3, ref h4, r0, r1, r2, r3, r4, r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        }

        // The sum of the lanes (each limb below 2^27, so the sums stay below 2^30), carried back to 26-bit limbs.
        ulong a0 = Vector512.Sum(h0), a1 = Vector512.Sum(h1), a2 = Vector512.Sum(h2), a3 = Vector512.Sum(h3), a4 = Vector512.Sum(h4);
        const ulong m = 0x3ffffff;
        ulong c;
        c = a0 >> 26; a0 &= m; a1 += c;
        c = a1 >> 26; a1 &= m; a2 += c;
        c = a2 >> 26; a2 &= m; a3 += c;
        c = a3 >> 26; a3 &= m; a4 += c;
        c = a4 >> 26; a4 &= m; a0 += c * 5;
        c = a0 >> 26; a0 &= m; a1 += c;

        // Block 65: the last 4 ciphertext bytes, zero-padded. Block 66: le64(AAD length = 0) ‖ le64(1028).
        ReadOnlySpan<ulong> r = pw[..5];
        ScalarBlock(ref a0, ref a1, ref a2, ref a3, ref a4, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref d, 1024)), 0, r);
        ScalarBlock(ref a0, ref a1, ref a2, ref a3, ref a4, 0, FrameAead.FrameSize, r);
        FrameAead.Finish(a0, a1, a2, a3, a4, key.Slice(16, 16), tag);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(pw));
    }

    /// <summary>Limb <paramref name="limb"/> of r^(8−j) in lane j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Powers(ReadOnlySpan<ulong> pw, int limb) =>
        Vector512.Create(pw[35 + limb], pw[30 + limb], pw[25 + limb], pw[20 + limb], pw[15 + limb], pw[10 + limb], pw[5 + limb], pw[limb]);

    /// <summary>c = a · b mod 2^130 − 5 in 26-bit limbs (partially reduced: limbs below 2^26 but c₁ ≤ 2^26 + 2^6).</summary>
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
        ulong r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4];
        ulong s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
        var d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
        var d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
        var d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
        var d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
        var d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
        Carry(d0, d1, d2, d3, d4, out h0, out h1, out h2, out h3, out h4);
    }

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
