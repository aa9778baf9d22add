using Google.Protobuf;
using Switchboard.Peers;
using Switchboard.Wire.Proto;
using ProtoNetAddress = Switchboard.Wire.Proto.NetAddress;

namespace Switchboard.Pex;

/// <summary>Encoding and decoding of <c>tendermint.p2p.Message</c> on the PEX channel (PROTOCOL.md 6.1).</summary>
internal static class PexMessages
{
    // Message{pex_request: PexRequest{}} = 0a 00: the oneof arm is set to an empty instance, as Go marshals it.
    private static readonly byte[] RequestBytes = new Message { PexRequest = new PexRequest() }.ToByteArray();

    public static byte[] EncodeRequest() => RequestBytes;

    public static byte[] EncodeAddrs(IEnumerable<Peers.NetAddress> addresses)
    {
        var addrs = new PexAddrs();
        foreach (var a in addresses) addrs.Addrs.Add(a.ToProto());
        return new Message { PexAddrs = addrs }.ToByteArray();
    }

    /// <summary>Decodes a PEX message; null addresses means a request.</summary>
    /// <exception cref="ProtocolViolationException">not a PEX message (bad protobuf, or no oneof arm set).</exception>
    public static IReadOnlyList<ProtoNetAddress>? Decode(ReadOnlyMemory<byte> bytes)
    {
        Message message;
        try
        {
            message = Wire.ProtoErrors.Parse(Message.Parser, bytes.Span);
        }
        catch (Exception ex) when (Wire.ProtoErrors.IsMalformed(ex))
        {
            throw new ProtocolViolationException(ProtocolViolation.InvalidChannelMessage, $"PEX: cannot decode Message: {ex.Message}", ex);
        }
        return message.SumCase switch
        {
            Message.SumOneofCase.PexRequest => null,
            Message.SumOneofCase.PexAddrs => message.PexAddrs.Addrs,
            _ => throw new ProtocolViolationException(ProtocolViolation.UnknownMessageType, "PEX: message with no known type"),
        };
    }
}
