using System.Buffers.Binary;
using Switchboard.Conn;

namespace Switchboard.Fuzz;

/// <summary>
/// Differential: the record layer's multi-frame ChaCha20-Poly1305 paths (AVX-512 and AVX2) against the BCL's, on the
/// same frames. Every sealed byte must agree, every run must open back, and a tampered run must stop at the same frame
/// on every path. A path this machine lacks is left out (with neither, only the BCL runs and must round-trip).
/// </summary>
/// <remarks>
/// Input: byte 0 → frame count (1 + b % 24); bytes 1–32 the key; 33–40 the first nonce counter (LE, top bit cleared
/// so the run never reaches the last nonce); byte 41 the tamper mode (0: none, else frame b % count); bytes 42–43 the
/// tampered offset (LE, mod 1044) and byte 44 the XOR mask (0 becomes 1); the rest fills the frames' data, each frame
/// taking a length byte (mod 1025) and then that many bytes (cycled when the input runs out).
/// </remarks>
internal static class AeadTarget
{
    private const int Sealed = SecretConnectionCipher.SealedFrameSize;
    private const int Frame = SecretConnectionCipher.FrameSize;
    private const int Header = 45;

    public static readonly FuzzTarget Target = new(
        "aead",
        "SecretConnectionCipher.SealFrames/OpenFrames: the AVX-512 and AVX2 multi-frame paths against the BCL (byte 0: frames, then key, nonce, tamper)",
        Body,
        _ => false, // nothing may be thrown: every input is a valid run
        FuzzTargets.Linear(256 * 1024, 16));

    private static void Body(byte[] input)
    {
        if (input.Length < Header) return;
        var count = 1 + input[0] % 24;
        var key = input.AsSpan(1, 32);
        var counter = BinaryPrimitives.ReadUInt64LittleEndian(input.AsSpan(33)) & long.MaxValue;
        var tamper = input[41] == 0 ? -1 : input[41] % count;
        var offset = BinaryPrimitives.ReadUInt16LittleEndian(input.AsSpan(42)) % Sealed;
        var mask = input[44] == 0 ? (byte)1 : input[44];

        var plain = new byte[count * Sealed];
        var data = input.AsSpan(Header);
        var at = 0;
        for (var f = 0; f < count; f++)
        {
            var frame = plain.AsSpan(f * Sealed, Frame);
            var length = data.IsEmpty ? 0 : data[at++ % data.Length] % 1025;
            BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)length);
            for (var i = 0; i < length; i++) frame[4 + i] = data[at++ % data.Length];
        }

        var reference = plain.AsSpan().ToArray();
        using (var bcl = new SecretConnectionCipher(key, counter, FrameAeadPath.Bcl)) bcl.SealFrames(reference, count);
        foreach (var path in Paths)
        {
            if (path == FrameAeadPath.Bcl) continue;
            var ours = plain.AsSpan().ToArray();
            using (var batch = new SecretConnectionCipher(key, counter, path)) batch.SealFrames(ours, count);
            FuzzTargets.Check(ours.AsSpan().SequenceEqual(reference), $"{path} sealed bytes differ from the BCL's");
        }
        if (tamper >= 0) reference[tamper * Sealed + offset] ^= mask;

        var expected = tamper < 0 ? count : tamper;
        foreach (var path in Paths)
        {
            var copy = reference.AsSpan().ToArray();
            using var opener = new SecretConnectionCipher(key, counter, path);
            var opened = opener.OpenFrames(copy, count, out var failed);
            FuzzTargets.Check(opened == expected && failed == (tamper >= 0),
                $"{path} path opened {opened} of {count} frames (failed: {failed}); expected {expected}");
            for (var f = 0; f < opened; f++)
                FuzzTargets.Check(copy.AsSpan(f * Sealed, Frame).SequenceEqual(plain.AsSpan(f * Sealed, Frame)),
                    $"{path} path: frame {f} did not open to its plaintext");
        }
    }

    /// <summary>The paths this machine runs, the BCL first.</summary>
    private static readonly FrameAeadPath[] Paths =
        [.. new[] { FrameAeadPath.Bcl, FrameAeadPath.Avx2, FrameAeadPath.Avx512 }.Where(SecretConnectionCipher.IsSupported)];
}
