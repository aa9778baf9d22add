using System.Buffers;
using System.Runtime.CompilerServices;

namespace Switchboard.Wire;

/// <summary>
/// CometBFT framing (PROTOCOL.md 1.1–1.6): <c>uvarint(len) ‖ tendermint.p2p.Packet</c>. Written by hand rather than
/// through the generated classes so that the hot path allocates nothing: encoding goes straight into the output
/// buffer in gogoproto's canonical form (fields ascending, defaults omitted, the oneof arm always present), and
/// decoding returns the payload as a slice of the input.
/// </summary>
/// <remarks>
/// Decoding is as lenient as gogoproto's generated <c>Unmarshal</c>: fields in any order, unknown fields of every
/// wire type skipped (groups by depth, as <c>skipP2p</c> does), explicit defaults accepted, a repeated oneof arm
/// replaces the earlier one, a repeated scalar keeps the last value, varints inside the body may carry up to
/// 10 bytes with overflow bits dropped. It is as strict as gogoproto where that matters: field number 0, wire
/// types 6/7, a stray end-group, a wrong wire type on a known field, or a length past the end are errors.
/// </remarks>
internal sealed class CometBftPacketCodec : IPacketCodec
{
    // Key bytes (PROTOCOL.md 1.2): field 1/2/3 LEN of Packet, field 1/2 VARINT and 3 LEN of PacketMsg.
    private const byte KeyPing = 0x0a, KeyPong = 0x12, KeyMsg = 0x1a;
    private const byte KeyChannel = 0x08, KeyEof = 0x10, KeyData = 0x1a;

    /// <summary>Creates the codec; <paramref name="maxPayloadSize"/> is max_packet_msg_payload_size (default 1024).</summary>
    public CometBftPacketCodec(int maxPayloadSize = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPayloadSize);
        MaxPayloadSize = maxPayloadSize;
        // maxPacketMsgSize as CometBFT computes it: the body of Packet{msg{channel 1, eof, payload zero bytes}}.
        MaxBodySize = BodySize(1, eof: true, maxPayloadSize);
        MaxPacketSize = Varint.SizeOf((ulong)MaxBodySize) + MaxBodySize;
    }

    /// <inheritdoc />
    public int MaxPayloadSize { get; }

    /// <summary>maxPacketMsgSize: the largest body (prefix excluded) a receiver accepts; 1034 for a 1024 payload.</summary>
    public int MaxBodySize { get; }

    /// <inheritdoc />
    public int MaxPacketSize { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int InnerSize(byte channelId, bool eof, int dataLength) =>
        (channelId != 0 ? 1 + Varint.SizeOf(channelId) : 0)
        + (eof ? 2 : 0)
        + (dataLength > 0 ? 1 + Varint.SizeOf((ulong)dataLength) + dataLength : 0);

    /// <summary>Body size (no prefix) of a msg packet.</summary>
    public static int BodySize(byte channelId, bool eof, int dataLength)
    {
        var inner = InnerSize(channelId, eof, dataLength);
        return 1 + Varint.SizeOf((ulong)inner) + inner;
    }

    /// <inheritdoc />
    public int MsgPacketSize(byte channelId, bool eof, int dataLength)
    {
        var body = BodySize(channelId, eof, dataLength);
        return Varint.SizeOf((ulong)body) + body;
    }

    /// <inheritdoc />
    public int WritePing(Span<byte> destination)
    {
        // 02 0a 00: length 2, Packet{packet_ping: {}} (PROTOCOL.md 1.2).
        destination[2] = 0x00;
        destination[1] = KeyPing;
        destination[0] = 0x02;
        return 3;
    }

    /// <inheritdoc />
    public int WritePong(Span<byte> destination)
    {
        destination[2] = 0x00;
        destination[1] = KeyPong;
        destination[0] = 0x02;
        return 3;
    }

    /// <inheritdoc />
    public int WriteMsg(Span<byte> destination, byte channelId, bool eof, ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxPayloadSize)
            throw new ArgumentException($"fragment of {data.Length} bytes exceeds the payload size {MaxPayloadSize}", nameof(data));
        var inner = InnerSize(channelId, eof, data.Length);
        var body = 1 + Varint.SizeOf((ulong)inner) + inner;
        var total = Varint.SizeOf((ulong)body) + body;
        if (destination.Length < total)
            throw new ArgumentException("destination too small for the packet", nameof(destination));
        var i = Varint.Write(destination, (ulong)body);
        destination[i++] = KeyMsg;
        i += Varint.Write(destination[i..], (ulong)inner);
        if (channelId != 0)
        {
            destination[i++] = KeyChannel;
            i += Varint.Write(destination[i..], channelId);
        }
        if (eof)
        {
            destination[i++] = KeyEof;
            destination[i++] = 0x01;
        }
        if (data.Length > 0)
        {
            destination[i++] = KeyData;
            i += Varint.Write(destination[i..], (ulong)data.Length);
            data.CopyTo(destination[i..]);
            i += data.Length;
        }
        return i;
    }

    /// <inheritdoc />
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out DecodedPacket packet)
    {
        packet = default;
        if (buffer.IsEmpty) return false;
        if (TryReadCanonical(ref buffer, out packet)) return true;
        var reader = new SequenceReader<byte>(buffer);
        var status = Varint.TryRead(ref reader, out var length);
        if (status == OperationStatus.NeedMoreData) return false;
        if (status != OperationStatus.Done)
            throw Violation(ProtocolViolation.MalformedVarint, "packet length prefix is not a valid uvarint");
        // The limit is checked on the prefix alone, before waiting for (or buffering) the body (PROTOCOL.md 1.6).
        if (length > (ulong)MaxBodySize)
            throw Violation(ProtocolViolation.MessageTooLarge, $"packet of {length} bytes exceeds maxPacketMsgSize {MaxBodySize}");
        if (reader.Remaining < (long)length) return false;
        var body = buffer.Slice(reader.Position, (long)length);
        packet = ParsePacket(body);
        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>
    /// The fast path: a whole packet in the buffer's first segment, in the canonical form gogoproto (and we) write.
    /// Anything else — a packet across segments, an incomplete one, unknown or reordered fields, an oversize prefix —
    /// returns false and goes through the general decoder, which applies every rule; for the packets this path does
    /// accept, both produce the same result (tests/Conn/PacketCodecFastPathTests compares them).
    /// </summary>
    private bool TryReadCanonical(ref ReadOnlySequence<byte> buffer, out DecodedPacket packet)
    {
        packet = default;
        var span = buffer.FirstSpan;
        if (Varint.TryRead(span, out var length, out var prefix) != OperationStatus.Done
            || length > (ulong)MaxBodySize || (ulong)(span.Length - prefix) < length)
            return false;
        var body = span.Slice(prefix, (int)length);
        if (body.Length == 2 && body[1] == 0x00 && body[0] is KeyPing or KeyPong)
        {
            packet = new DecodedPacket(body[0] == KeyPing ? PacketKind.Ping : PacketKind.Pong, 0, false, ReadOnlySequence<byte>.Empty);
            buffer = buffer.Slice(prefix + 2);
            return true;
        }
        if (body.Length < 2 || body[0] != KeyMsg
            || Varint.TryRead(body[1..], out var innerLength, out var innerPrefix) != OperationStatus.Done
            || (ulong)(body.Length - 1 - innerPrefix) != innerLength)
            return false;
        var i = 1 + innerPrefix;
        var channel = 0;
        if (i < body.Length && body[i] == KeyChannel)
        {
            if (Varint.TryRead(body[(i + 1)..], out var id, out var idLength) != OperationStatus.Done || id > 255) return false;
            channel = (int)id;
            i += 1 + idLength;
        }
        var eof = false;
        if (i < body.Length && body[i] == KeyEof)
        {
            if (i + 1 >= body.Length || body[i + 1] != 0x01) return false;
            eof = true;
            i += 2;
        }
        var data = ReadOnlySequence<byte>.Empty;
        if (i < body.Length)
        {
            if (body[i] != KeyData
                || Varint.TryRead(body[(i + 1)..], out var dataLength, out var dataPrefix) != OperationStatus.Done
                || (ulong)(body.Length - i - 1 - dataPrefix) != dataLength)
                return false;
            data = buffer.Slice(prefix + i + 1 + dataPrefix, (long)dataLength);
        }
        packet = new DecodedPacket(PacketKind.Msg, channel, eof, data);
        buffer = buffer.Slice(prefix + body.Length);
        return true;
    }

    /// <summary>Decodes a bare Packet body (no prefix), with the same rules as <see cref="TryRead"/>.</summary>
    public static DecodedPacket ParsePacket(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        PacketKind kind = 0;
        int channel = 0;
        var eof = false;
        var data = ReadOnlySequence<byte>.Empty;
        while (!reader.End)
        {
            var (field, wireType) = ReadKey(ref reader);
            if (field is >= 1 and <= 3)
            {
                if (wireType != 2)
                    throw Malformed($"wrong wire type {wireType} for Packet field {field}");
                var arm = ReadLengthDelimited(ref reader, body);
                // gogoproto does not merge message-typed oneof arms: the last one replaces the earlier.
                channel = 0; eof = false; data = ReadOnlySequence<byte>.Empty;
                if (field == 3)
                {
                    kind = PacketKind.Msg;
                    ParseMsg(arm, out channel, out eof, out data);
                }
                else
                {
                    kind = field == 1 ? PacketKind.Ping : PacketKind.Pong;
                    SkipMessage(arm); // PacketPing/PacketPong have no fields, but their bytes must still parse.
                }
            }
            else
            {
                SkipField(ref reader, wireType);
            }
        }
        if (kind == 0)
            throw Violation(ProtocolViolation.UnknownMessageType, "packet has no ping, pong or msg");
        if (kind == PacketKind.Msg && (uint)channel > 255)
            throw Violation(ProtocolViolation.UnknownChannel, $"packet for channel id {channel}, outside 0..255");
        return new DecodedPacket(kind, channel, eof, data);
    }

    private static void ParseMsg(ReadOnlySequence<byte> msg, out int channel, out bool eof, out ReadOnlySequence<byte> data)
    {
        channel = 0; eof = false; data = ReadOnlySequence<byte>.Empty;
        var reader = new SequenceReader<byte>(msg);
        while (!reader.End)
        {
            var (field, wireType) = ReadKey(ref reader);
            switch (field)
            {
                case 1:
                    if (wireType != 0) throw Malformed($"wrong wire type {wireType} for PacketMsg.channel_id");
                    // int32 from a varint keeps the low 32 bits (Go's int32 shifts, protobuf's rule); -1 is a
                    // 10-byte varint that ends up negative here and is rejected by the caller.
                    channel = unchecked((int)ReadVarint(ref reader));
                    break;
                case 2:
                    if (wireType != 0) throw Malformed($"wrong wire type {wireType} for PacketMsg.eof");
                    eof = ReadVarint(ref reader) != 0;
                    break;
                case 3:
                    if (wireType != 2) throw Malformed($"wrong wire type {wireType} for PacketMsg.data");
                    data = ReadLengthDelimited(ref reader, msg);
                    break;
                default:
                    SkipField(ref reader, wireType);
                    break;
            }
        }
    }

    private static void SkipMessage(ReadOnlySequence<byte> message)
    {
        var reader = new SequenceReader<byte>(message);
        while (!reader.End)
        {
            var (_, wireType) = ReadKey(ref reader);
            SkipField(ref reader, wireType);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Field, int WireType) ReadKey(ref SequenceReader<byte> reader)
    {
        var key = ReadVarint(ref reader);
        // gogoproto: fieldNum := int32(wire >> 3); fieldNum <= 0 is "illegal tag"; wire type 4 outside a group is
        // "end group for non-group".
        var field = unchecked((int)(key >> 3));
        var wireType = (int)(key & 7);
        if (field <= 0) throw Malformed($"illegal field number {key >> 3}");
        if (wireType == 4) throw Malformed("end-group outside a group");
        return (field, wireType);
    }

    /// <summary>Skips one field whose key was just read, groups included (depth counting like gogoproto's skip).</summary>
    private static void SkipField(ref SequenceReader<byte> reader, int wireType)
    {
        var depth = 0;
        while (true)
        {
            switch (wireType)
            {
                case 0: ReadVarint(ref reader); break;
                case 1: Advance(ref reader, 8); break;
                case 2:
                    var length = ReadVarint(ref reader);
                    if (length > (ulong)reader.Remaining) throw Malformed("length-delimited field runs past the end");
                    reader.Advance((long)length);
                    break;
                case 3: depth++; break;
                case 4:
                    if (depth == 0) throw Malformed("unexpected end-group");
                    depth--;
                    break;
                case 5: Advance(ref reader, 4); break;
                default: throw Malformed($"illegal wire type {wireType}");
            }
            if (depth == 0) return;
            wireType = (int)(ReadVarint(ref reader) & 7);
        }
    }

    private static ReadOnlySequence<byte> ReadLengthDelimited(ref SequenceReader<byte> reader, ReadOnlySequence<byte> source)
    {
        var length = ReadVarint(ref reader);
        if (length > (ulong)reader.Remaining) throw Malformed("length-delimited field runs past the end");
        var slice = source.Slice(reader.Position, (long)length);
        reader.Advance((long)length);
        return slice;
    }

    private static void Advance(ref SequenceReader<byte> reader, int count)
    {
        if (reader.Remaining < count) throw Malformed("fixed-width field runs past the end");
        reader.Advance(count);
    }

    /// <summary>
    /// A varint inside the body, read the way gogoproto's generated code does: at most 10 bytes, bits beyond 64
    /// dropped. The body is complete here, so running out of bytes is a decode error, not "need more".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b)) throw Malformed("varint runs past the end");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Violation(ProtocolViolation.MalformedVarint, "varint longer than 10 bytes");
    }

    private static ProtocolViolationException Malformed(string message) =>
        new(ProtocolViolation.MalformedMessage, "cannot decode Packet: " + message);

    private static ProtocolViolationException Violation(ProtocolViolation violation, string message) => new(violation, message);
}
