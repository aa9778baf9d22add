using System.Buffers;

namespace Switchboard.Wire;

/// <summary>The three kinds of MConnection packet, whatever the framing.</summary>
internal enum PacketKind : byte
{
    /// <summary>Keep-alive request; the receiver answers with one pong.</summary>
    Ping = 1,
    /// <summary>Keep-alive answer.</summary>
    Pong = 2,
    /// <summary>A fragment of a channel message.</summary>
    Msg = 3,
}

/// <summary>
/// One decoded packet. <see cref="Data"/> slices the caller's input (no copy), so it is only valid until the
/// caller releases that input (for a pipe: until <c>AdvanceTo</c>).
/// </summary>
internal readonly struct DecodedPacket(PacketKind kind, int channelId, bool eof, ReadOnlySequence<byte> data)
{
    public PacketKind Kind { get; } = kind;

    /// <summary>0..255 for <see cref="PacketKind.Msg"/> (the codec rejects anything else), 0 otherwise.</summary>
    public int ChannelId { get; } = channelId;

    public bool Eof { get; } = eof;

    public ReadOnlySequence<byte> Data { get; } = data;
}

/// <summary>
/// The seam between the MConnection and a packet framing: CometBFT's delimited protobuf
/// (<see cref="CometBftPacketCodec"/>, PROTOCOL.md section 1) or the 2017 framing (<see cref="LegacyPacketCodec"/>,
/// appendix A). Encoders write straight into the caller's buffer; the decoder never copies the payload.
/// </summary>
internal interface IPacketCodec
{
    /// <summary>Largest <c>data</c> of one msg packet (max_packet_msg_payload_size).</summary>
    int MaxPayloadSize { get; }

    /// <summary>Largest packet this codec writes or accepts, everything included (length prefix too).</summary>
    int MaxPacketSize { get; }

    /// <summary>Writes a ping packet; returns the bytes written.</summary>
    int WritePing(Span<byte> destination);

    /// <summary>Writes a pong packet; returns the bytes written.</summary>
    int WritePong(Span<byte> destination);

    /// <summary>Exact size <see cref="WriteMsg"/> will write for these arguments.</summary>
    int MsgPacketSize(byte channelId, bool eof, int dataLength);

    /// <summary>Writes one msg packet (data at most <see cref="MaxPayloadSize"/> bytes); returns the bytes written.</summary>
    int WriteMsg(Span<byte> destination, byte channelId, bool eof, ReadOnlySpan<byte> data);

    /// <summary>
    /// Decodes the packet at the start of <paramref name="buffer"/> and advances <paramref name="buffer"/> past it.
    /// Returns false (leaving <paramref name="buffer"/> untouched) when more bytes are needed.
    /// </summary>
    /// <exception cref="ProtocolViolationException">The bytes can never become a valid packet.</exception>
    bool TryRead(ref ReadOnlySequence<byte> buffer, out DecodedPacket packet);
}

/// <summary>Creates the codec for a framing.</summary>
internal static class PacketCodec
{
    public static IPacketCodec Create(Conn.PacketFraming framing, int maxPayloadSize) => framing switch
    {
        Conn.PacketFraming.CometBft => new CometBftPacketCodec(maxPayloadSize),
        Conn.PacketFraming.Legacy => new LegacyPacketCodec(maxPayloadSize),
        _ => throw new ArgumentOutOfRangeException(nameof(framing), framing, "unknown packet framing"),
    };
}
