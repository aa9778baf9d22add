using System.Numerics;
using System.Runtime.InteropServices;
using Switchboard.Crypto;

namespace Switchboard.Tests.Crypto;

/// <summary>The unrolled <see cref="Keccak"/> against the plain loop form of FIPS 202 it replaced.</summary>
public class KeccakTests
{
    [Fact]
    public void UnrolledPermutationMatchesTheLoopFormOnRandomStates()
    {
        var random = new Random(1600);
        var state = new byte[Keccak.StateBytes];
        var expected = new ulong[25];
        for (var i = 0; i < 500; i++)
        {
            random.NextBytes(state);
            MemoryMarshal.Cast<byte, ulong>(state).CopyTo(expected);
            // Chains of permutations too: each output is the next input of both.
            for (var n = 0; n < 3; n++)
            {
                Keccak.Permute(state);
                KeccakReference.Permute(expected);
                Assert.Equal(expected, MemoryMarshal.Cast<byte, ulong>(state).ToArray());
            }
        }
    }

    [Fact]
    public void RejectsAStateOfTheWrongSize()
    {
        Assert.Throws<ArgumentException>(() => Keccak.Permute(new byte[199]));
    }
}

/// <summary>Keccak-f[1600] as FIPS 202 section 3 writes it: loops over x and y, modulo 5. Slow and obviously right.</summary>
internal static class KeccakReference
{
    // 24 rounds (FIPS 202: n_r = 12 + 2·l with l = 6 for 64-bit lanes), each with its iota constant.
    private static ReadOnlySpan<ulong> RoundConstants =>
    [
        0x0000000000000001UL, 0x0000000000008082UL, 0x800000000000808AUL, 0x8000000080008000UL,
        0x000000000000808BUL, 0x0000000080000001UL, 0x8000000080008081UL, 0x8000000000008009UL,
        0x000000000000008AUL, 0x0000000000000088UL, 0x0000000080008009UL, 0x000000008000000AUL,
        0x000000008000808BUL, 0x800000000000008BUL, 0x8000000000008089UL, 0x8000000000008003UL,
        0x8000000000008002UL, 0x8000000000000080UL, 0x000000000000800AUL, 0x800000008000000AUL,
        0x8000000080008081UL, 0x8000000000008080UL, 0x0000000080000001UL, 0x8000000080008008UL,
    ];

    // rho rotation offsets, indexed by lane x + 5y.
    private static ReadOnlySpan<byte> Rotations =>
    [
        0, 1, 62, 28, 27,
        36, 44, 6, 55, 20,
        3, 10, 43, 25, 39,
        41, 45, 15, 21, 8,
        18, 2, 61, 56, 14,
    ];

    public static void Permute(Span<ulong> a)
    {
        Span<ulong> c = stackalloc ulong[5];
        Span<ulong> b = stackalloc ulong[25];
        for (var round = 0; round < 24; round++)
        {
            // theta: xor each column's parity into its neighbours.
            for (var x = 0; x < 5; x++)
                c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
            for (var x = 0; x < 5; x++)
            {
                var d = c[(x + 4) % 5] ^ BitOperations.RotateLeft(c[(x + 1) % 5], 1);
                for (var y = 0; y < 25; y += 5)
                    a[y + x] ^= d;
            }
            // rho and pi: rotate each lane and move lane (x, y) to (y, 2x + 3y).
            for (var x = 0; x < 5; x++)
                for (var y = 0; y < 5; y++)
                    b[y + 5 * ((2 * x + 3 * y) % 5)] = BitOperations.RotateLeft(a[x + 5 * y], Rotations[x + 5 * y]);
            // chi: the only non-linear step.
            for (var y = 0; y < 25; y += 5)
                for (var x = 0; x < 5; x++)
                    a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
            // iota
            a[0] ^= RoundConstants[round];
        }
        b.Clear();
        c.Clear();
    }
}
