using System.Buffers;
using Switchboard.Tests.Support;
using Switchboard.Wire;

namespace Switchboard.Tests.Wire;

public class LegacyPacketCodecTests
{
    private static readonly LegacyPacketCodec Codec = new();

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        using var doc = Vectors.Json("legacy.json");
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void LegacyJsonCasesEncodeByteForByteAndDecode(string name)
    {
        using var doc = Vectors.Json("legacy.json");
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var channel = (byte)c.GetProperty("channel_id").GetInt32();
        var eof = c.GetProperty("eof").GetBoolean();
        var data = Vectors.Hex(c.GetProperty("data_hex").GetString()!);
        var wire = Vectors.Hex(c.GetProperty("hex").GetString()!);

        var buffer = new byte[Codec.MaxPacketSize];
        Assert.Equal(wire.Length, Codec.MsgPacketSize(channel, eof, data.Length));
        var n = Codec.WriteMsg(buffer, channel, eof, data);
        Assert.Equal(Vectors.ToHex(wire), Vectors.ToHex(buffer.AsSpan(0, n)));

        foreach (var cut in new[] { 0, 1, 3, 4, 5, wire.Length - 1 })
        {
            var seq = SegmentedSequence.Create(wire, cut);
            Assert.True(Codec.TryRead(ref seq, out var p));
            Assert.True(seq.IsEmpty);
            Assert.Equal((PacketKind.Msg, (int)channel, eof), (p.Kind, p.ChannelId, p.Eof));
            Assert.Equal(data, p.Data.ToArray());
        }
        for (var i = 0; i < wire.Length; i++)
        {
            var prefix = new ReadOnlySequence<byte>(wire, 0, i);
            Assert.False(Codec.TryRead(ref prefix, out _));
        }
    }

    [Fact]
    public void PingPongAndThe2500ByteMessage()
    {
        using var doc = Vectors.Json("legacy.json");
        var root = doc.RootElement;
        var buffer = new byte[Codec.MaxPacketSize];
        Assert.Equal(root.GetProperty("ping").GetProperty("hex").GetString(), Vectors.ToHex(buffer.AsSpan(0, Codec.WritePing(buffer))));
        Assert.Equal(root.GetProperty("pong").GetProperty("hex").GetString(), Vectors.ToHex(buffer.AsSpan(0, Codec.WritePong(buffer))));

        var message = Enumerable.Range(0, 2500).Select(i => (byte)i).ToArray();
        var expected = root.GetProperty("message_2500_on_0x20").GetProperty("packets_hex").EnumerateArray().Select(e => e.GetString()).ToArray();
        var produced = new List<string>();
        for (var offset = 0; offset < message.Length;)
        {
            var take = Math.Min(1024, message.Length - offset);
            var n = Codec.WriteMsg(buffer, 0x20, message.Length - offset <= 1024, message.AsSpan(offset, take));
            produced.Add(Vectors.ToHex(buffer.AsSpan(0, n)));
            offset += take;
        }
        Assert.Equal(expected, produced);

        var stream = Vectors.Hex("01" + string.Concat(expected) + "02");
        var packets = CometBftPacketCodecTests.DecodeAll(stream, Codec);
        Assert.Equal(PacketKind.Ping, packets[0].Kind);
        Assert.Equal(PacketKind.Pong, packets[^1].Kind);
        Assert.Equal(message, packets.Skip(1).SkipLast(1).SelectMany(p => p.Data).ToArray());
    }

    public static TheoryData<string, string> InvalidCases()
    {
        var data = new TheoryData<string, string>();
        using var doc = Vectors.Json("legacy.json");
        foreach (var c in doc.RootElement.GetProperty("invalid").EnumerateArray())
            data.Add(c.GetProperty("hex").GetString()!, c.GetProperty("why").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void LegacyJsonInvalidCasesAreRejected(string hex, string why)
    {
        var expected = why switch
        {
            "unknown packet type" => ProtocolViolation.UnknownMessageType,
            "go-wire varint size byte above 8" or "negative go-wire varint length" => ProtocolViolation.MalformedVarint,
            _ => ProtocolViolation.MessageTooLarge,
        };
        var seq = new ReadOnlySequence<byte>(Vectors.Hex(hex));
        var ex = Assert.Throws<ProtocolViolationException>(() => Codec.TryRead(ref seq, out _));
        Assert.Equal(expected, ex.Violation);
    }

    [Theory]
    [InlineData("00", ProtocolViolation.UnknownMessageType)]
    [InlineData("ff", ProtocolViolation.UnknownMessageType)]
    [InlineData("03010200", ProtocolViolation.MalformedMessage)]              // eof byte 02 is not a bool
    [InlineData("030101080000000000000405", ProtocolViolation.MessageTooLarge)] // 8-byte length = 1029
    [InlineData("030101080000000000000400", ProtocolViolation.MessageTooLarge)] // 1024 with 8 size bytes: 1036 > 1034
    public void RejectsOtherBadHeaders(string hex, ProtocolViolation violation)
    {
        var seq = new ReadOnlySequence<byte>(Vectors.Hex(hex));
        var ex = Assert.Throws<ProtocolViolationException>(() => Codec.TryRead(ref seq, out _));
        Assert.Equal(violation, ex.Violation);
    }

    [Fact]
    public void AcceptsNonMinimalLengths()
    {
        var seq = new ReadOnlySequence<byte>(Vectors.Hex("0307010200026869"));
        Assert.True(Codec.TryRead(ref seq, out var p));
        Assert.Equal((7, true, "6869"), (p.ChannelId, p.Eof, Vectors.ToHex(p.Data.ToArray())));
    }
}
