using System.Buffers;
using Google.Protobuf;
using Switchboard.Wire;
using Switchboard.Wire.Proto;

namespace Switchboard.Peers;

// tendermint.p2p.DefaultNodeInfo (PROTOCOL.md 4.2). gogoproto always emits the non-nullable submessages
// protocol_version and other, even when every field inside is empty, so they are always assigned here: an
// absent submessage would change the bytes (and the length prefix) compared with CometBFT.
public sealed partial record NodeInfo
{
    internal DefaultNodeInfo ToProto() => new()
    {
        ProtocolVersion = new Wire.Proto.ProtocolVersion
        {
            P2P = ProtocolVersion.P2P,
            Block = ProtocolVersion.Block,
            App = ProtocolVersion.App,
        },
        DefaultNodeId = IdText,
        ListenAddr = ListenAddr,
        Network = Network,
        Version = Version,
        Channels = ByteString.CopyFrom(_channels),
        Moniker = Moniker,
        Other = new DefaultNodeInfoOther { TxIndex = TxIndex, RpcAddress = RpcAddress },
    };

    /// <summary>
    /// Nothing is validated here (see <see cref="Validate"/>); missing submessages read as zero values, as Go's
    /// non-nullable fields do.
    /// </summary>
    internal static NodeInfo FromProto(DefaultNodeInfo proto) => new(proto.DefaultNodeId)
    {
        ProtocolVersion = proto.ProtocolVersion is { } v ? new ProtocolVersion(v.P2P, v.Block, v.App) : default,
        ListenAddr = proto.ListenAddr,
        Network = proto.Network,
        Version = proto.Version,
        Channels = proto.Channels.Memory,
        Moniker = proto.Moniker,
        TxIndex = proto.Other?.TxIndex ?? "",
        RpcAddress = proto.Other?.RpcAddress ?? "",
    };

    /// <summary>The length-delimited encoding (<c>uvarint(len) ‖ body</c>), exactly as CometBFT writes it in the handshake.</summary>
    public byte[] Encode() => Delimited.Encode(ToProto());

    /// <summary>The bare protobuf body, without the length prefix.</summary>
    internal byte[] EncodeBody() => ToProto().ToByteArray();

    /// <summary>
    /// Decodes one length-delimited NodeInfo that fills <paramref name="delimited"/> exactly. Nothing is validated
    /// beyond the encoding; call <see cref="Validate"/> on a peer's NodeInfo.
    /// </summary>
    /// <exception cref="ProtocolViolationException">bad length prefix, body above <see cref="MaxSize"/>, too few or
    /// too many bytes, or not a DefaultNodeInfo.</exception>
    public static NodeInfo Decode(ReadOnlySpan<byte> delimited)
    {
        switch (Varint.TryRead(delimited, out var length, out var consumed))
        {
            case OperationStatus.NeedMoreData:
                throw new ProtocolViolationException(ProtocolViolation.Truncated, "NodeInfo ends inside its length prefix");
            case OperationStatus.InvalidData:
                throw new ProtocolViolationException(ProtocolViolation.MalformedVarint, "NodeInfo length prefix is not a valid varint");
        }
        if (length > MaxSize)
            throw new ProtocolViolationException(ProtocolViolation.MessageTooLarge, $"NodeInfo of {length} bytes exceeds the limit of {MaxSize}");
        var body = delimited[consumed..];
        if ((ulong)body.Length < length)
            throw new ProtocolViolationException(ProtocolViolation.Truncated, $"NodeInfo declares {length} bytes but {body.Length} follow");
        if ((ulong)body.Length > length)
            throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, $"{(ulong)body.Length - length} bytes after the NodeInfo");
        return DecodeBody(body);
    }

    /// <summary>Decodes a bare protobuf body (no prefix, no size limit applied here).</summary>
    /// <exception cref="ProtocolViolationException">not a DefaultNodeInfo (MalformedMessage).</exception>
    internal static NodeInfo DecodeBody(ReadOnlySpan<byte> body)
    {
        DefaultNodeInfo proto;
        try
        {
            proto = ProtoErrors.Parse(DefaultNodeInfo.Parser, body);
        }
        catch (Exception ex) when (Wire.ProtoErrors.IsMalformed(ex))
        {
            throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, $"cannot decode NodeInfo: {ex.Message}", ex);
        }
        return FromProto(proto);
    }
}
