using System.Buffers;
using System.Buffers.Binary;

namespace Switchboard.Wire;

/// <summary>
/// The 2017 Tendermint framing (PROTOCOL.md appendix A): ping <c>01</c>, pong <c>02</c>, msg
/// <c>03 ‖ channel ‖ eof ‖ go-wire uvarint(len) ‖ data</c>. Only for links between Switchboard nodes that both
/// select it; CometBFT nodes speak <see cref="CometBftPacketCodec"/> only.
/// </summary>
/// <remarks>
/// go-wire's uvarint is one size byte N (0..8) and N big-endian value bytes. A size byte above 8 (including the
/// high-nibble-F "negative" form) is rejected; a non-minimal value (leading zero bytes) is accepted, as the
/// original decoder did. The eof byte must be 00 or 01 (go-wire's bool).
/// </remarks>
internal sealed class LegacyPacketCodec : IPacketCodec
{
    private const byte TypePing = 0x01, TypePong = 0x02, TypeMsg = 0x03;

    /// <summary>Type, channel, eof and size bytes in front of the length value.</summary>
    private const int FixedHeader = 4;

    /// <summary>Creates the codec; the historical payload limit is 1024 bytes.</summary>
    public LegacyPacketCodec(int maxPayloadSize = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPayloadSize);
        MaxPayloadSize = maxPayloadSize;
        // "a msg packet larger than 1024 + 10 bytes is an error" (appendix A), scaled with the payload size.
        MaxPacketSize = maxPayloadSize + 10;
    }

    /// <inheritdoc />
    public int MaxPayloadSize { get; }

    /// <inheritdoc />
    public int MaxPacketSize { get; }

    /// <inheritdoc />
    public int WritePing(Span<byte> destination)
    {
        destination[0] = TypePing;
        return 1;
    }

    /// <inheritdoc />
    public int WritePong(Span<byte> destination)
    {
        destination[0] = TypePong;
        return 1;
    }

    private static int LengthBytes(int value) => value == 0 ? 0 : (39 - System.Numerics.BitOperations.LeadingZeroCount((uint)value)) / 8;

    /// <inheritdoc />
    public int MsgPacketSize(byte channelId, bool eof, int dataLength) => FixedHeader + LengthBytes(dataLength) + dataLength;

    /// <inheritdoc />
    public int WriteMsg(Span<byte> destination, byte channelId, bool eof, ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxPayloadSize)
            throw new ArgumentException($"fragment of {data.Length} bytes exceeds the payload size {MaxPayloadSize}", nameof(data));
        var n = LengthBytes(data.Length);
        var total = FixedHeader + n + data.Length;
        if (destination.Length < total)
            throw new ArgumentException("destination too small for the packet", nameof(destination));
        destination[0] = TypeMsg;
        destination[1] = channelId;
        destination[2] = eof ? (byte)1 : (byte)0;
        destination[3] = (byte)n;
        for (var i = 0; i < n; i++)
            destination[FixedHeader + i] = (byte)(data.Length >> (8 * (n - 1 - i)));
        data.CopyTo(destination[(FixedHeader + n)..]);
        return total;
    }

    /// <inheritdoc />
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out DecodedPacket packet)
    {
        packet = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var type)) return false;
        switch (type)
        {
            case TypePing:
                packet = new DecodedPacket(PacketKind.Ping, 0, false, ReadOnlySequence<byte>.Empty);
                buffer = buffer.Slice(1);
                return true;
            case TypePong:
                packet = new DecodedPacket(PacketKind.Pong, 0, false, ReadOnlySequence<byte>.Empty);
                buffer = buffer.Slice(1);
                return true;
            case TypeMsg:
                break;
            default:
                throw new ProtocolViolationException(ProtocolViolation.UnknownMessageType, $"unknown legacy packet type 0x{type:x2}");
        }
        if (reader.Remaining < FixedHeader - 1) return false;
        reader.TryRead(out var channel);
        reader.TryRead(out var eofByte);
        reader.TryRead(out var size);
        if (eofByte > 1)
            throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, $"legacy eof byte 0x{eofByte:x2} is not a bool");
        if (size > 8)
            throw new ProtocolViolationException(ProtocolViolation.MalformedVarint, $"go-wire varint size byte 0x{size:x2} is above 8 (or negative)");
        if (reader.Remaining < size) return false;
        Span<byte> be = stackalloc byte[8];
        be.Clear();
        reader.TryCopyTo(be[(8 - size)..]);
        reader.Advance(size);
        var length = BinaryPrimitives.ReadUInt64BigEndian(be);
        // Both limits are checked on the header, before waiting for the data.
        if (length > (ulong)MaxPayloadSize)
            throw new ProtocolViolationException(ProtocolViolation.MessageTooLarge,
                $"legacy msg data of {length} bytes exceeds the payload limit {MaxPayloadSize}");
        var total = FixedHeader + size + (int)length;
        if (total > MaxPacketSize)
            throw new ProtocolViolationException(ProtocolViolation.MessageTooLarge,
                $"legacy msg packet of {total} bytes exceeds {MaxPacketSize}");
        if (reader.Remaining < (long)length) return false;
        var data = buffer.Slice(reader.Position, (long)length);
        packet = new DecodedPacket(PacketKind.Msg, channel, eofByte == 1, data);
        buffer = buffer.Slice(data.End);
        return true;
    }
}
