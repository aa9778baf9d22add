using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Wire;
using Switchboard.Wire.Proto;

namespace Switchboard.Tests.Wire;

/// <summary>
/// Regression tests for what fuzz/ found in its first campaigns (nodeinfo, authsig, pex; the inputs are files of
/// fuzz/crashes): a length-delimited field declaring nearly int.MaxValue bytes makes Google.Protobuf allocate up to
/// 2 GiB and then throw IndexOutOfRangeException or ArgumentOutOfRangeException instead of
/// InvalidProtocolBufferException (protocolbuffers/protobuf#26856). Every decoder of peer input must refuse such
/// bytes with its typed error, and without allocating the declared length.
/// </summary>
public sealed class ProtobufOverflowTests
{
    /// <summary>fuzz/crashes/pex/crash-79e78a48…: 20 bytes that made PexMessages.Decode allocate 1.9 GB.</summary>
    private static readonly byte[] Pex = Convert.FromHexString("12ffffffff37384150ffff7f3298989898979738");

    /// <summary>fuzz/crashes/authsig/crash-4f6abaf4…: a delimited AuthSigMessage (465 MB allocated).</summary>
    private static readonly byte[] AuthSig = Convert.FromHexString("660afffffffff7ffffff0922e2ffffdd91e74bc09967e4d63030d36a2442e8a32f6fa2fcbb41b9d630138062dbfe84fa0000fa7eff7f42e8000000fffcbb4199d630008062dbfe840a0004a125e07fffe0f3ce10be1d309ba50d5f12400040e5007fff4040235040");

    /// <summary>fuzz/crashes/nodeinfo/crash-f83a8a73…: a delimited NodeInfo (1.35 GB allocated).</summary>
    private static readonly byte[] NodeInfoBytes = Convert.FromHexString("710affffffff0708100800109b107a10102510108585852010101000040000797979101010100510101010101010101010101079797986797979797979001010107a231010198585858585856a856a85858585858585858579101010107a231071100f106b107a030020101085d485201010");

    /// <summary>Field 1 as a group holding a bytes field that declares 0x7fffffff bytes.</summary>
    private static readonly byte[] OverflowInGroup = [0x0a, 0x0c, 0x0b, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x01, 0x02, 0x03, 0x04, 0x0c];

    /// <summary>Runs <paramref name="decode"/>, expecting <typeparamref name="T"/>, and returns the bytes it allocated.</summary>
    private static long Refused<T>(Action decode) where T : Exception
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<T>(decode);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void NodeInfo_decode_is_a_protocol_violation_without_a_huge_allocation()
    {
        Assert.True(Refused<ProtocolViolationException>(() => NodeInfo.Decode(NodeInfoBytes)) < 1 << 20);
        Assert.True(Refused<ProtocolViolationException>(() => NodeInfo.DecodeBody(OverflowInGroup)) < 1 << 20);
    }

    [Fact]
    public void A_delimited_AuthSig_is_a_protocol_violation_without_a_huge_allocation()
    {
        using var stream = new MemoryStream(AuthSig);
        var allocated = Refused<ProtocolViolationException>(() =>
            Delimited.ReadMessageAsync(stream, AuthSigMessage.Parser, 1024).AsTask().GetAwaiter().GetResult());
        Assert.True(allocated < 1 << 20, $"{allocated} bytes");
    }

    [Fact]
    public void A_PEX_message_is_a_protocol_violation_without_a_huge_allocation()
    {
        Assert.True(Refused<ProtocolViolationException>(() => PexMessages.Decode(Pex)) < 1 << 20);
        Assert.True(Refused<ProtocolViolationException>(() => PexMessages.Decode(OverflowInGroup)) < 1 << 20);
    }

    [Fact]
    public void Envelope_decode_and_NetAddress_are_protocol_violations()
    {
        var envelope = new Envelope(null!, 0x77, Pex);
        Assert.Equal(ProtocolViolation.InvalidChannelMessage, Assert.Throws<ProtocolViolationException>(() => envelope.Decode(Message.Parser)).Violation);
        Assert.Throws<ProtocolViolationException>(() => new Envelope(null!, 0x77, OverflowInGroup).Decode(DefaultNodeInfo.Parser));
        Assert.Throws<ProtocolViolationException>(() => Switchboard.Peers.NetAddress.DecodeProto(OverflowInGroup));
    }

    [Fact]
    public void Honest_messages_still_decode()
    {
        var nodeInfo = new NodeInfo { Id = Switchboard.Crypto.NodeKey.FromSeed(new byte[32]).Id, ListenAddr = "tcp://1.2.3.4:26656", Network = "n", Version = "v", Channels = new byte[] { 0x77 }, Moniker = "m" };
        Assert.Equal(nodeInfo, NodeInfo.Decode(nodeInfo.Encode()));
        var address = Switchboard.Peers.NetAddress.Parse("0123456789abcdef0123456789abcdef01234567@[2001:db8::7]:26656");
        Assert.Equal(address, Assert.Single(PexMessages.Decode(PexMessages.EncodeAddrs([address]))!) is { } p && Switchboard.Peers.NetAddress.TryFromProto(p, out var a, out _) ? a : null);
        Assert.Null(PexMessages.Decode(PexMessages.EncodeRequest()));
    }

    [Fact]
    public void The_protobuf_runtime_still_has_the_bug_the_check_works_around()
    {
        // When this fails, Google.Protobuf has fixed #26856; ProtoErrors' pre-check can then go.
        var ex = Record.Exception(() => Message.Parser.ParseFrom(Pex));
        Assert.True(ex is IndexOutOfRangeException or ArgumentOutOfRangeException, $"got {ex?.GetType().Name ?? "no exception"}");
    }
}
