using System.Buffers;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Tests.Support;
using Switchboard.Wire;
using Switchboard.Wire.Proto;

namespace Switchboard.Tests.Wire;

public class CometBftPacketCodecTests
{
    private static readonly CometBftPacketCodec Codec = new();

    public static TheoryData<string> PacketVectorNames()
    {
        var data = new TheoryData<string>();
        using var doc = Vectors.Json("packets.json");
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray()) data.Add(v.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement PacketVector(JsonDocument doc, string name) =>
        doc.RootElement.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(PacketVectorNames))]
    public void PacketsJsonEncodesByteForByteAndDecodes(string name)
    {
        using var doc = Vectors.Json("packets.json");
        var v = PacketVector(doc, name);
        var wire = Vectors.Hex(v.GetProperty("wire_hex").GetString()!);
        var body = Vectors.Hex(v.GetProperty("packet_proto_hex").GetString()!);
        var buffer = new byte[Codec.MaxPacketSize];
        int written;
        PacketKind kind;
        byte channel = 0;
        var eof = false;
        var data = Array.Empty<byte>();
        if (name == "packet_ping") { written = Codec.WritePing(buffer); kind = PacketKind.Ping; }
        else if (name == "packet_pong") { written = Codec.WritePong(buffer); kind = PacketKind.Pong; }
        else
        {
            var f = v.GetProperty("fields");
            channel = (byte)f.GetProperty("channel_id").GetInt32();
            eof = f.GetProperty("eof").GetBoolean();
            data = Vectors.Hex(f.GetProperty("data_hex").GetString()!);
            Assert.Equal(wire.Length, Codec.MsgPacketSize(channel, eof, data.Length));
            written = Codec.WriteMsg(buffer, channel, eof, data);
            kind = PacketKind.Msg;
        }
        Assert.Equal(Vectors.ToHex(wire), Vectors.ToHex(buffer.AsSpan(0, written)));

        AssertDecodes(wire, kind, channel, eof, data);
        var parsed = CometBftPacketCodec.ParsePacket(new ReadOnlySequence<byte>(body));
        Assert.Equal(kind, parsed.Kind);
        // The generated classes agree on the bare body too.
        Assert.Equal(Vectors.ToHex(body), Vectors.ToHex(ToProto(kind, channel, eof, data).ToByteArray()));
    }

    [Fact]
    public void DerivedVectorsEncode()
    {
        using var doc = Vectors.Json("derived.json");
        var root = doc.RootElement;
        var buffer = new byte[Codec.MaxPacketSize];
        Assert.Equal(root.GetProperty("delimited_ping").GetString(), Vectors.ToHex(buffer.AsSpan(0, Codec.WritePing(buffer))));
        Assert.Equal(root.GetProperty("delimited_pong").GetString(), Vectors.ToHex(buffer.AsSpan(0, Codec.WritePong(buffer))));
        Assert.Equal(root.GetProperty("packet_ping").GetString(), Vectors.ToHex(buffer.AsSpan(1, Codec.WritePing(buffer) - 1)));
        Assert.Equal(root.GetProperty("packet_pong").GetString(), Vectors.ToHex(buffer.AsSpan(1, Codec.WritePong(buffer) - 1)));

        // TestConnVectors: channel 1, eof false, "data transmitted over the wire".
        var n = Codec.WriteMsg(buffer, 1, false, "data transmitted over the wire"u8);
        Assert.Equal(root.GetProperty("packet_msg_ch1_noeof").GetString(), Vectors.ToHex(buffer.AsSpan(1, n - 1)));
        // PEX: Packet{packet_msg{eof, data 01}} carries no channel_id.
        n = Codec.WriteMsg(buffer, 0, true, [0x01]);
        Assert.Equal(root.GetProperty("packet_msg_pex_ch0_eof_data01").GetString(), Vectors.ToHex(buffer.AsSpan(1, n - 1)));

        Assert.Equal(root.GetProperty("maxPacketMsgSize_default").GetInt32(), Codec.MaxBodySize);
        Assert.Equal(1034, Codec.MaxBodySize);
        Assert.Equal(1036, Codec.MaxPacketSize);
        Assert.Equal(root.GetProperty("packet_msg_ch0x80_full_len").GetInt32(), CometBftPacketCodec.BodySize(0x80, true, 1024));
    }

    [Fact]
    public void ChannelAbove0x7FWithAFullFinalFragmentIsRejectedByADefaultReceiver()
    {
        // PROTOCOL.md 1.3 (a): such a packet is 1035 bytes, one above maxPacketMsgSize.
        var buffer = new byte[2048];
        var n = new CometBftPacketCodec(2048).WriteMsg(buffer, 0x80, true, new byte[1024]);
        var ex = Assert.Throws<ProtocolViolationException>(() => Decode(buffer.AsSpan(0, n).ToArray()));
        Assert.Equal(ProtocolViolation.MessageTooLarge, ex.Violation);
    }

    [Fact]
    public void MaxPacketSizeFollowsThePayloadSize()
    {
        Assert.Equal(6, CometBftPacketCodec.BodySize(1, true, 0)); // 1a 04 08 01 10 01
        foreach (var payload in new[] { 1, 100, 127, 128, 1024, 4096, 65536 })
        {
            var codec = new CometBftPacketCodec(payload);
            Assert.Equal(codec.MsgPacketSize(1, true, payload), codec.MaxPacketSize);
            var buffer = new byte[codec.MaxPacketSize];
            Assert.Equal(codec.MaxPacketSize, codec.WriteMsg(buffer, 1, true, new byte[payload]));
            var seq = new ReadOnlySequence<byte>(buffer);
            Assert.True(codec.TryRead(ref seq, out _));
        }
    }

    [Fact]
    public void LiveCaptureDecodesIntoThePacketsCometBftSent()
    {
        using var doc = Vectors.Json("mconn_live_capture.json");
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        var pattern = Enumerable.Range(0, 2500).Select(i => (byte)i).ToArray();

        var packets = DecodeAll(Vectors.Hex(cases["send_2500_ch77"].GetProperty("captured_wire_hex").GetString()!));
        Assert.Equal([1024, 1024, 452], packets.Select(p => p.Data.Length));
        Assert.Equal([false, false, true], packets.Select(p => p.Eof));
        Assert.All(packets, p => Assert.Equal(0x77, p.Channel));
        Assert.Equal(pattern, packets.SelectMany(p => p.Data).ToArray());

        var hi = DecodeAll(Vectors.Hex(cases["recv_hi_ch77"].GetProperty("input_wire_hex").GetString()!)).Single();
        Assert.Equal((0x77, true, "6869"), (hi.Channel, hi.Eof, Vectors.ToHex(hi.Data)));
        var hello = DecodeAll(Vectors.Hex(cases["send_hello_ch77"].GetProperty("captured_wire_hex").GetString()!)).Single();
        Assert.Equal("hello"u8.ToArray(), hello.Data);
        Assert.Equal(PacketKind.Pong, DecodeAll(Vectors.Hex(cases["pong_reply"].GetProperty("captured_wire_hex").GetString()!)).Single().Kind);
    }

    [Fact]
    public void Example2500BytesOnChannel0x20SplitsInto1034_1034_464()
    {
        // PROTOCOL.md 1.4, fragment by fragment as the send loop cuts them.
        var message = Enumerable.Range(0, 2500).Select(i => (byte)i).ToArray();
        var buffer = new byte[Codec.MaxPacketSize];
        var sizes = new List<int>();
        var headers = new List<string>();
        for (var offset = 0; offset < message.Length;)
        {
            var take = Math.Min(1024, message.Length - offset);
            var eof = message.Length - offset <= 1024;
            var n = Codec.WriteMsg(buffer, 0x20, eof, message.AsSpan(offset, take));
            sizes.Add(n);
            headers.Add(Vectors.ToHex(buffer.AsSpan(0, eof ? 12 : 10)));
            offset += take;
        }
        Assert.Equal([1034, 1034, 464], sizes);
        Assert.Equal(["88081a850808201a8008", "88081a850808201a8008", "ce031acb030820100" + "11ac403"], headers);
    }

    [Theory]
    // Fields in reverse order.
    [InlineData("1a0b1a0568656c6c6f10010877", 0x77, true, "68656c6c6f")]
    // Explicit defaults.
    [InlineData("1a0608001000" + "1a00", 0, false, "")]
    // Unknown fields of every wire type in PacketMsg: varint, fixed64, bytes, group (with content), fixed32.
    [InlineData("1a22" + "2801" + "310102030405060708" + "3a02aabb" + "43" + "0801" + "12017a" + "44" + "4d01020304" + "0805" + "1a0178" + "1001", 5, true, "78")]
    // A repeated scalar keeps the last value; repeated data replaces.
    [InlineData("1a0c0801080210011a01aa1a01bb", 2, true, "bb")]
    // Channel id encoded with a redundant continuation (non-minimal varint).
    [InlineData("1a0308f700", 0x77, false, "")]
    public void DecodesLeniently(string bodyHex, int channel, bool eof, string dataHex)
    {
        var p = CometBftPacketCodec.ParsePacket(new ReadOnlySequence<byte>(Vectors.Hex(bodyHex)));
        Assert.Equal((PacketKind.Msg, channel, eof, dataHex), (p.Kind, p.ChannelId, p.Eof, Vectors.ToHex(p.Data.ToArray())));
    }

    [Theory]
    [InlineData("1a0208050a00", 1)]         // msg then ping: the last arm wins
    [InlineData("0a001a0208051200", 2)]     // ping, msg, pong
    [InlineData("2801" + "0a00" + "3a00", 1)] // unknown fields around the arm
    [InlineData("0a022801", 1)]             // unknown field inside PacketPing
    public void RepeatedOrDecoratedArms(string bodyHex, int kind) =>
        Assert.Equal((PacketKind)kind, CometBftPacketCodec.ParsePacket(new ReadOnlySequence<byte>(Vectors.Hex(bodyHex))).Kind);

    [Fact]
    public void ARepeatedMsgArmReplacesInsteadOfMerging()
    {
        var p = CometBftPacketCodec.ParsePacket(new ReadOnlySequence<byte>(Vectors.Hex("1a020805" + "1a021001")));
        Assert.Equal((0, true), (p.ChannelId, p.Eof));
    }

    [Theory]
    [InlineData("", ProtocolViolation.UnknownMessageType)]
    [InlineData("2801", ProtocolViolation.UnknownMessageType)]       // only an unknown field
    [InlineData("0801", ProtocolViolation.MalformedMessage)]         // field 1 with the varint wire type
    [InlineData("1b", ProtocolViolation.MalformedMessage)]           // field 3 as a group start
    [InlineData("02", ProtocolViolation.MalformedMessage)]           // field number 0
    [InlineData("0e", ProtocolViolation.MalformedMessage)]           // wire type 6
    [InlineData("0f", ProtocolViolation.MalformedMessage)]           // wire type 7
    [InlineData("2c", ProtocolViolation.MalformedMessage)]           // end-group without a group
    [InlineData("43", ProtocolViolation.MalformedMessage)]           // group never closed
    [InlineData("1a05", ProtocolViolation.MalformedMessage)]         // arm longer than the body
    [InlineData("1a03080110", ProtocolViolation.MalformedMessage)]   // varint runs off the arm
    [InlineData("1a021801", ProtocolViolation.MalformedMessage)]     // data with the varint wire type
    [InlineData("1a020a01", ProtocolViolation.MalformedMessage)]     // channel_id as bytes
    [InlineData("1a0208", ProtocolViolation.MalformedMessage)]       // truncated field inside the arm
    [InlineData("1a0139", ProtocolViolation.MalformedMessage)]       // fixed64 past the end
    [InlineData("1a0c08ffffffffffffffffffff01", ProtocolViolation.MalformedVarint)] // 11-byte varint
    [InlineData("1a0308810810011a0178", ProtocolViolation.MalformedMessage)]        // inner length wrong
    [InlineData("1a050881081001", ProtocolViolation.UnknownChannel)]                // channel 1025
    [InlineData("1a0d08ffffffffffffffffff011001", ProtocolViolation.UnknownChannel)] // channel -1
    [InlineData("1a03088002", ProtocolViolation.UnknownChannel)]                     // channel 256
    public void RejectsBadBodies(string bodyHex, ProtocolViolation violation)
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => CometBftPacketCodec.ParsePacket(new ReadOnlySequence<byte>(Vectors.Hex(bodyHex))));
        Assert.Equal(violation, ex.Violation);
    }

    [Theory]
    [InlineData("ffffffffffffffffffff01", ProtocolViolation.MalformedVarint)]
    [InlineData("ffffffffffffffffff7f", ProtocolViolation.MalformedVarint)]
    [InlineData("8b08", ProtocolViolation.MessageTooLarge)]          // 1035 > 1034, known from the prefix alone
    [InlineData("80808080808001", ProtocolViolation.MessageTooLarge)]
    [InlineData("00", ProtocolViolation.UnknownMessageType)]          // empty Packet
    [InlineData("0102030405", ProtocolViolation.MalformedMessage)]    // CometBFT's BadEncoding vector
    public void RejectsBadStreams(string hex, ProtocolViolation violation)
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => Decode(Vectors.Hex(hex)));
        Assert.Equal(violation, ex.Violation);
    }

    [Fact]
    public void EveryStrictPrefixNeedsMoreAndEverySplitDecodes()
    {
        var buffer = new byte[Codec.MaxPacketSize];
        var n = Codec.WriteMsg(buffer, 0x77, true, "hello world, split me"u8);
        var wire = buffer.AsSpan(0, n).ToArray();
        for (var i = 0; i < wire.Length; i++)
        {
            var prefix = new ReadOnlySequence<byte>(wire, 0, i);
            Assert.False(Codec.TryRead(ref prefix, out _));
            Assert.Equal(i, prefix.Length);
            for (var j = i; j <= wire.Length; j++)
            {
                var seq = SegmentedSequence.Create(wire, i, j);
                Assert.True(Codec.TryRead(ref seq, out var p));
                Assert.True(seq.IsEmpty);
                Assert.Equal("hello world, split me"u8.ToArray(), p.Data.ToArray());
            }
        }
    }

    [Fact]
    public void AgreesWithGoogleProtobufOnRandomPackets()
    {
        var random = new Random(20260101);
        var buffer = new byte[Codec.MaxPacketSize];
        for (var i = 0; i < 3000; i++)
        {
            var channel = (byte)(random.Next(3) == 0 ? 0 : random.Next(256));
            var eof = random.Next(2) == 1;
            var data = new byte[random.Next(3) == 0 ? 0 : random.Next(1, 1025)];
            random.NextBytes(data);
            if (channel >= 0x80 && eof && data.Length == 1024) continue; // over maxPacketMsgSize by design (1.3 a)
            var proto = ToProto(PacketKind.Msg, channel, eof, data);

            var n = Codec.WriteMsg(buffer, channel, eof, data);
            Assert.Equal(Vectors.ToHex(Delimited.Encode(proto)), Vectors.ToHex(buffer.AsSpan(0, n)));

            // Each side decodes the other's bytes.
            var back = Packet.Parser.ParseDelimitedFrom(new MemoryStream(buffer, 0, n));
            Assert.Equal(proto, back);
            var seq = SegmentedSequence.RandomlySplit(Delimited.Encode(proto), random);
            Assert.True(Codec.TryRead(ref seq, out var p));
            Assert.Equal((channel, eof), ((byte)p.ChannelId, p.Eof));
            Assert.Equal(data, p.Data.ToArray());
        }
    }

    [Fact]
    public void AgreesWithGoogleProtobufOnBodiesWithUnknownFieldsAndExplicitDefaults()
    {
        // Google.Protobuf writes unknown fields it parsed back out: build such a message from raw bytes.
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var data = new byte[random.Next(0, 64)];
            random.NextBytes(data);
            var raw = new MemoryStream();
            var output = new CodedOutputStream(raw);
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            var inner = new MemoryStream();
            var io = new CodedOutputStream(inner);
            io.WriteTag(15, WireFormat.WireType.Varint); io.WriteUInt64((ulong)random.NextInt64());
            io.WriteTag(3, WireFormat.WireType.LengthDelimited); io.WriteBytes(ByteString.CopyFrom(data));
            io.WriteTag(2, WireFormat.WireType.Varint); io.WriteBool(false);
            io.WriteTag(1, WireFormat.WireType.Varint); io.WriteInt32(i % 256);
            io.Flush();
            output.WriteBytes(ByteString.CopyFrom(inner.ToArray()));
            output.Flush();
            var body = raw.ToArray();
            var google = Packet.Parser.ParseFrom(body);
            var ours = CometBftPacketCodec.ParsePacket(new ReadOnlySequence<byte>(body));
            Assert.Equal(google.PacketMsg.ChannelId, ours.ChannelId);
            Assert.Equal(google.PacketMsg.Eof, ours.Eof);
            Assert.Equal(google.PacketMsg.Data.ToByteArray(), ours.Data.ToArray());
        }
    }

    private static Packet ToProto(PacketKind kind, byte channel, bool eof, byte[] data) => kind switch
    {
        PacketKind.Ping => new Packet { PacketPing = new PacketPing() },
        PacketKind.Pong => new Packet { PacketPong = new PacketPong() },
        _ => new Packet { PacketMsg = new PacketMsg { ChannelId = channel, Eof = eof, Data = ByteString.CopyFrom(data) } },
    };

    private static void AssertDecodes(byte[] wire, PacketKind kind, byte channel, bool eof, byte[] data)
    {
        foreach (var cut in new[] { 0, 1, 2, 3, wire.Length / 2, wire.Length - 1 })
        {
            var seq = SegmentedSequence.Create(wire, cut);
            Assert.True(Codec.TryRead(ref seq, out var p));
            Assert.True(seq.IsEmpty);
            Assert.Equal((kind, (int)channel, eof), (p.Kind, p.ChannelId, p.Eof));
            Assert.Equal(data, p.Data.ToArray());
        }
    }

    private static DecodedPacket Decode(byte[] wire)
    {
        var seq = new ReadOnlySequence<byte>(wire);
        Assert.True(Codec.TryRead(ref seq, out var p));
        return p;
    }

    internal static List<(PacketKind Kind, int Channel, bool Eof, byte[] Data)> DecodeAll(byte[] wire, IPacketCodec? codec = null)
    {
        codec ??= Codec;
        var list = new List<(PacketKind, int, bool, byte[])>();
        var seq = new ReadOnlySequence<byte>(wire);
        while (codec.TryRead(ref seq, out var p)) list.Add((p.Kind, p.ChannelId, p.Eof, p.Data.ToArray()));
        Assert.True(seq.IsEmpty, "trailing bytes");
        return list;
    }
}
