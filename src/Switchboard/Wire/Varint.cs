using System.Buffers;
using System.Runtime.CompilerServices;

namespace Switchboard.Wire;

/// <summary>
/// Protobuf base-128 unsigned varints, with Go's <c>binary.ReadUvarint</c> rules: at most 10 bytes, and the
/// 10th byte may only be 0 or 1 (anything else overflows 64 bits). Non-minimal encodings (trailing 0x80 … 0x00)
/// are accepted, as Go accepts them.
/// </summary>
internal static class Varint
{
    /// <summary>10: a 64-bit value needs at most ⌈64/7⌉ bytes.</summary>
    public const int MaxLength = 10;

    /// <summary>Number of bytes <paramref name="value"/> takes as a varint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOf(ulong value) => (70 - System.Numerics.BitOperations.LeadingZeroCount(value | 1)) / 7;

    /// <summary>Writes <paramref name="value"/> and returns the number of bytes written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// Reads a varint from the start of <paramref name="source"/>. Returns <see cref="OperationStatus.NeedMoreData"/>
    /// when the input ends inside a varint shorter than 10 bytes, <see cref="OperationStatus.InvalidData"/> when it
    /// is longer than 10 bytes or overflows.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out ulong value, out int consumed)
    {
        ulong result = 0;
        var shift = 0;
        for (var i = 0; i < source.Length; i++)
        {
            var b = source[i];
            if (i == MaxLength - 1 && b > 1)
            {
                value = 0; consumed = 0;
                return OperationStatus.InvalidData;
            }
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                value = result; consumed = i + 1;
                return OperationStatus.Done;
            }
            shift += 7;
            if (i == MaxLength - 1)
            {
                value = 0; consumed = 0;
                return OperationStatus.InvalidData;
            }
        }
        value = 0; consumed = 0;
        return OperationStatus.NeedMoreData;
    }

    /// <summary>Same as the span overload, over a possibly multi-segment sequence; advances the reader only on success.</summary>
    public static OperationStatus TryRead(ref SequenceReader<byte> reader, out ulong value)
    {
        var span = reader.UnreadSpan;
        if (span.Length >= MaxLength || reader.Remaining == span.Length)
        {
            var status = TryRead(span, out value, out var consumed);
            if (status == OperationStatus.Done) reader.Advance(consumed);
            return status;
        }
        Span<byte> tmp = stackalloc byte[MaxLength];
        var n = (int)Math.Min(reader.Remaining, MaxLength);
        reader.TryCopyTo(tmp[..n]);
        var st = TryRead(tmp[..n], out value, out var used);
        if (st == OperationStatus.Done) reader.Advance(used);
        return st;
    }
}
