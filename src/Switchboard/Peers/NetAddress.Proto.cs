using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Switchboard.Crypto;

namespace Switchboard.Peers;

// tendermint.p2p.NetAddress (PROTOCOL.md 4.3): id = 1 string, ip = 2 string (Go's textual IP), port = 3 uint32.
public sealed partial record NetAddress
{
    /// <summary>The protobuf form; the IP is printed as Go prints it so PEX payloads match byte for byte.</summary>
    internal Wire.Proto.NetAddress ToProto() => new()
    {
        Id = Id.Value,
        Ip = NetAddressText.FormatIp(_ip),
        Port = Port,
    };

    /// <summary>
    /// CometBFT's <c>NetAddressFromProto</c>: the IP must parse and the port must be below 65536. The ID is not
    /// checked here (as in Go); an ID that is not 40 hex characters becomes <c>default</c>, which makes
    /// <see cref="IsValid"/> false, so the address book refuses it exactly where Go's <c>Valid()</c> would.
    /// </summary>
    internal static bool TryFromProto(Wire.Proto.NetAddress proto, [NotNullWhen(true)] out NetAddress? address,
        [NotNullWhen(false)] out string? error)
    {
        address = null;
        if (!NetAddressText.TryParseIp(proto.Ip, out var ip))
        {
            error = $"invalid IP address \"{Truncate(proto.Ip)}\"";
            return false;
        }
        if (proto.Port > ushort.MaxValue)
        {
            error = $"invalid port number {proto.Port}";
            return false;
        }
        NodeId.TryParse(proto.Id, out var id);
        address = new NetAddress(id, ip, (ushort)proto.Port);
        error = null;
        return true;
    }

    /// <summary>As <see cref="TryFromProto"/>, throwing <see cref="ProtocolViolationException"/> (MalformedMessage).</summary>
    internal static NetAddress FromProto(Wire.Proto.NetAddress proto) =>
        TryFromProto(proto, out var address, out var error)
            ? address
            : throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, error);

    /// <summary>Bare protobuf bytes (no length prefix) of <see cref="ToProto"/>.</summary>
    internal byte[] EncodeProto() => ToProto().ToByteArray();

    /// <summary>Decodes bare protobuf bytes; every failure is a <see cref="ProtocolViolationException"/>.</summary>
    internal static NetAddress DecodeProto(ReadOnlySpan<byte> proto)
    {
        Wire.Proto.NetAddress message;
        try
        {
            message = Wire.ProtoErrors.Parse(Wire.Proto.NetAddress.Parser, proto);
        }
        catch (Exception ex) when (Wire.ProtoErrors.IsMalformed(ex))
        {
            throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, $"cannot decode NetAddress: {ex.Message}", ex);
        }
        return FromProto(message);
    }

    // Peer-supplied text goes into error messages and logs; keep it short.
    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
