using Google.Protobuf;
using System.Text.Json;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Peers;

public class NodeInfoTests
{
    internal const string IdA = "3e53e085ad98eaca8277bb0295d6b1a5442c8dc3";
    internal const string IdB = "5e86f4041d9df242c0fd3dd064250c214dfc1884";

    /// <summary>Like CometBFT's testNodeInfo: a valid NodeInfo on one test channel.</summary>
    internal static NodeInfo Sample(string id = IdA, string moniker = "nodeA") => new()
    {
        Id = NodeId.Parse(id),
        ListenAddr = "127.0.0.1:26656",
        Network = "testing",
        Version = "1.2.3-rc0-deadbeef",
        Channels = new byte[] { 0x01 },
        Moniker = moniker,
        TxIndex = "on",
        RpcAddress = "127.0.0.1:26657",
    };

    private static NodeInfo FromVectorFields(JsonElement f)
    {
        var pv = f.GetProperty("protocol_version");
        var other = f.GetProperty("other");
        return new NodeInfo
        {
            ProtocolVersion = new ProtocolVersion(pv.GetProperty("p2p").GetUInt64(), pv.GetProperty("block").GetUInt64(), pv.GetProperty("app").GetUInt64()),
            Id = NodeId.Parse(f.GetProperty("id").GetString()!),
            ListenAddr = f.GetProperty("listen_addr").GetString()!,
            Network = f.GetProperty("network").GetString()!,
            Version = f.GetProperty("version").GetString()!,
            Channels = Vectors.Hex(f.GetProperty("channels").GetString()!),
            Moniker = f.GetProperty("moniker").GetString()!,
            TxIndex = other.GetProperty("tx_index").GetString()!,
            RpcAddress = other.GetProperty("rpc_address").GetString()!,
        };
    }

    [Fact]
    public void NodeInfoVectorsEncodeByteForByteAndDecodeBackEqual()
    {
        using var doc = Vectors.Json("nodeinfo.json");
        var count = 0;
        foreach (var vector in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            var info = FromVectorFields(vector.GetProperty("fields"));
            var proto = vector.GetProperty("proto_hex").GetString()!;
            var wire = vector.GetProperty("wire_hex").GetString()!;

            Assert.Equal(proto, Vectors.ToHex(info.EncodeBody()));
            Assert.Equal(wire, Vectors.ToHex(info.Encode()));
            Assert.Equal(info, NodeInfo.Decode(Vectors.Hex(wire)));
            Assert.Equal(info, NodeInfo.DecodeBody(Vectors.Hex(proto)));
            Assert.Equal(info.GetHashCode(), NodeInfo.Decode(Vectors.Hex(wire)).GetHashCode());
            info.Validate();
            count++;
        }
        Assert.Equal(2, count);
    }

    [Fact]
    public void DerivedExampleOfSection42()
    {
        using var doc = Vectors.Json("derived.json");
        var expected = doc.RootElement.GetProperty("nodeinfo_example_delimited").GetString()!;
        var info = new NodeInfo
        {
            ProtocolVersion = new ProtocolVersion(8, 11, 0),
            Id = NodeId.Parse(IdA),
            ListenAddr = "tcp://0.0.0.0:26656",
            Network = "test-chain",
            Version = "0.38.19",
            Channels = new byte[] { 0x40, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61, 0x00 },
            Moniker = "nodeA",
            TxIndex = "on",
            RpcAddress = "tcp://127.0.0.1:26657",
        };
        Assert.Equal(ProtocolVersion.Default, info.ProtocolVersion);
        Assert.Equal(expected, Vectors.ToHex(info.Encode()));
        Assert.Equal(doc.RootElement.GetProperty("nodeinfo_example_len").GetInt32(), info.EncodeBody().Length);
        Assert.StartsWith("8a010a040808100b1228", expected);
        Assert.Equal(info, NodeInfo.Decode(Vectors.Hex(expected)));
    }

    [Fact]
    public void EmptySubmessagesAreAlwaysEmitted()
    {
        // gogoproto's non-nullable protocol_version (field 1) and other (field 8) appear even when empty.
        var empty = new NodeInfo { ProtocolVersion = default };
        Assert.Equal("0a004200", Vectors.ToHex(empty.EncodeBody()));
        Assert.Equal("040a004200", Vectors.ToHex(empty.Encode()));
        Assert.Equal(empty, NodeInfo.Decode(empty.Encode()));
        // And decoding a body without them gives zero values, not an error.
        var bare = NodeInfo.DecodeBody([]);
        Assert.Equal(default, bare.ProtocolVersion);
        Assert.Equal("", bare.TxIndex);
        Assert.Equal(empty, bare);
    }

    [Fact]
    public void ChannelsAreCopiedAndComparedByContent()
    {
        var channels = new byte[] { 1, 2 };
        var info = Sample() with { Channels = channels };
        channels[0] = 9;
        Assert.Equal(new byte[] { 1, 2 }, info.Channels.ToArray());
        Assert.Equal(info, Sample() with { Channels = new byte[] { 1, 2 } });
        Assert.NotEqual(info, Sample() with { Channels = new byte[] { 2, 1 } });
        Assert.Contains("Channels = 0102", info.ToString());
    }

    // CometBFT p2p/node_info_test.go TestNodeInfoValidate, plus boundary and address cases.
    // (case, mutation, valid)
    public static TheoryData<string, Func<NodeInfo, NodeInfo>, bool> ValidateCases()
    {
        var sixteen = Enumerable.Range(0, NodeInfo.MaxChannels).Select(i => (byte)i).ToArray();
        const string nonAscii = "¢§µ";
        const string tab = "\t";
        const string spaces = "  ";
        return new()
        {
            { "good sample", n => n, true },
            { "16 channels", n => n with { Channels = sixteen }, true },
            { "too many channels", n => n with { Channels = sixteen.Append((byte)16).ToArray() }, false },
            { "duplicate channel", n => n with { Channels = new byte[] { 0, 1, 2, 3, 4, 0x01 } }, false },
            { "good channels", n => n with { Channels = sixteen[..5] }, true },
            { "no channels", n => n with { Channels = ReadOnlyMemory<byte>.Empty }, true },

            { "invalid net address", n => n with { ListenAddr = "not-an-address" }, false },
            { "good net address", n => n with { ListenAddr = "0.0.0.0:26656" }, true },
            { "with scheme", n => n with { ListenAddr = "tcp://0.0.0.0:26656" }, true },
            { "IPv6", n => n with { ListenAddr = "tcp://[::]:26656" }, true },
            { "IPv6 without brackets", n => n with { ListenAddr = "tcp://:::26656" }, false },
            { "port 0", n => n with { ListenAddr = "1.2.3.4:0" }, true },
            { "port 65536", n => n with { ListenAddr = "1.2.3.4:65536" }, false },
            { "no port", n => n with { ListenAddr = "1.2.3.4" }, false },
            { "empty host", n => n with { ListenAddr = ":26656" }, false },
            { "empty", n => n with { ListenAddr = "" }, false },
            { "an @ in the listen address", n => n with { ListenAddr = $"{IdA}@1.2.3.4:26656" }, false },
            // Deliberate difference from CometBFT: host names are accepted without a DNS lookup…
            { "host name", n => n with { ListenAddr = "tcp://localhost:26656" }, true },
            { "unresolvable host name", n => n with { ListenAddr = "peer.invalid:26656" }, true },
            // …but only syntactically valid ones.
            { "malformed host name", n => n with { ListenAddr = "not an address:26656" }, false },
            { "malformed IP", n => n with { ListenAddr = "1.2.3.04:26656" }, false },
            { "no ID", n => n with { Id = default }, false },

            { "non-ASCII version", n => n with { Version = nonAscii }, false },
            { "tab version", n => n with { Version = tab }, false },
            { "space version", n => n with { Version = spaces }, false },
            { "empty version", n => n with { Version = "" }, true },
            { "DEL in version", n => n with { Version = "1.0\u007f" }, false },
            { "tilde version", n => n with { Version = " ~1.0 " }, true },

            { "non-ASCII moniker", n => n with { Moniker = nonAscii }, false },
            { "tab moniker", n => n with { Moniker = tab }, false },
            { "space moniker", n => n with { Moniker = spaces }, false },
            { "empty moniker", n => n with { Moniker = "" }, false },
            { "good moniker", n => n with { Moniker = "hey its me" }, true },

            { "non-ASCII tx_index", n => n with { TxIndex = nonAscii }, false },
            { "tab tx_index", n => n with { TxIndex = tab }, false },
            { "space tx_index", n => n with { TxIndex = spaces }, false },
            { "empty tx_index", n => n with { TxIndex = "" }, true },
            { "off tx_index", n => n with { TxIndex = "off" }, true },
            { "ON tx_index", n => n with { TxIndex = "ON" }, false },

            { "non-ASCII rpc_address", n => n with { RpcAddress = nonAscii }, false },
            { "tab rpc_address", n => n with { RpcAddress = tab }, false },
            { "space rpc_address", n => n with { RpcAddress = spaces }, false },
            { "empty rpc_address", n => n with { RpcAddress = "" }, true },
            { "good rpc_address", n => n with { RpcAddress = "0.0.0.0:26657" }, true },

            // Not checked by Validate.
            { "empty network", n => n with { Network = "" }, true },
            { "zero versions", n => n with { ProtocolVersion = default }, true },
        };
    }

    [Theory]
    [MemberData(nameof(ValidateCases))]
    public void ValidateTable(string name, Func<NodeInfo, NodeInfo> mutate, bool valid)
    {
        var info = mutate(Sample());
        Assert.Equal(valid, info.TryValidate(out var error));
        if (valid)
        {
            Assert.Null(error);
            info.Validate();
            return;
        }
        Assert.False(string.IsNullOrEmpty(error), name);
        var ex = Assert.Throws<PeerRejectedException>(info.Validate);
        Assert.Equal(RejectReason.InvalidNodeInfo, ex.Reason);
        Assert.Contains(error, ex.Message);
        // The same verdict after a trip over the wire.
        Assert.False(NodeInfo.Decode(info.Encode()).TryValidate(out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("deadbeef")]
    [InlineData("xxxxbeefdeadbeefdeadbeefdeadbeefdeadbeef")]
    [InlineData("3e53e085ad98eaca8277bb0295d6b1a5442c8dc3@")]
    public void AnInvalidIdFromThePeerFailsValidationAndSurvivesReEncoding(string wireId)
    {
        var proto = Sample().ToProto();
        proto.DefaultNodeId = wireId;
        var info = NodeInfo.FromProto(proto);
        Assert.True(info.Id.IsEmpty);
        Assert.Equal(wireId, info.IdText);
        var ex = Assert.Throws<PeerRejectedException>(info.Validate);
        Assert.Equal(RejectReason.InvalidNodeInfo, ex.Reason);
        Assert.Equal(proto.ToByteArray(), info.EncodeBody());
        Assert.Null(info.TryGetNetAddress());
        // Replacing the ID drops the odd wire text.
        Assert.True((info with { Id = NodeId.Parse(IdA) }).TryValidate(out _));
    }

    [Fact]
    public void AnUpperCaseIdFromThePeerIsValidButKeptVerbatim()
    {
        var proto = Sample().ToProto();
        proto.DefaultNodeId = IdA.ToUpperInvariant();
        var info = NodeInfo.FromProto(proto);
        Assert.Equal(NodeId.Parse(IdA), info.Id);
        Assert.Equal(IdA.ToUpperInvariant(), info.IdText);
        info.Validate(); // Go's validateID accepts upper-case hex…
        Assert.NotEqual(Sample(), info); // …but the string is not the canonical ID
        Assert.Equal(proto.ToByteArray(), info.EncodeBody());
    }

    [Theory]
    [InlineData("tcp://0.0.0.0:26656", $"{IdA}@0.0.0.0:26656")]
    [InlineData("1.2.3.4:26656", $"{IdA}@1.2.3.4:26656")]
    [InlineData("tcp://[2001:db8::1]:26656", $"{IdA}@[2001:db8::1]:26656")]
    [InlineData("tcp://localhost:26656", null)]
    [InlineData("not-an-address", null)]
    [InlineData("", null)]
    public void NetAddressFromListenAddr(string listenAddr, string? expected)
    {
        var address = (Sample() with { ListenAddr = listenAddr }).TryGetNetAddress();
        Assert.Equal(expected, address?.ToString());
    }

    [Fact]
    public void CompatibleWithTable()
    {
        var ours = Sample() with { Channels = new byte[] { 0x01 } };
        var theirs = Sample(IdB, "nodeB") with { Channels = new byte[] { 0x01 } };
        ours.CompatibleWith(theirs);
        ours.CompatibleWith(theirs with { Channels = new byte[] { 0x01, 0x02 } });          // extra channel
        ours.CompatibleWith(theirs with { ProtocolVersion = ours.ProtocolVersion with { P2P = 9, App = 7 } });
        (ours with { Channels = ReadOnlyMemory<byte>.Empty }).CompatibleWith(theirs with { Channels = new byte[] { 0x42 } });
        (ours with { Channels = ReadOnlyMemory<byte>.Empty }).CompatibleWith(theirs with { Channels = ReadOnlyMemory<byte>.Empty });

        AssertIncompatible("block version", ours, theirs with { ProtocolVersion = ours.ProtocolVersion with { Block = ours.ProtocolVersion.Block + 1 } });
        AssertIncompatible("network", ours, theirs with { Network = ours.Network + "-wrong" });
        AssertIncompatible("common channel", ours, theirs with { Channels = new byte[] { 0x02 } });
        AssertIncompatible("common channel", ours, theirs with { Channels = ReadOnlyMemory<byte>.Empty });
    }

    private static void AssertIncompatible(string expectedText, NodeInfo ours, NodeInfo theirs)
    {
        var ex = Assert.Throws<PeerRejectedException>(() => ours.CompatibleWith(theirs));
        Assert.Equal(RejectReason.Incompatible, ex.Reason);
        Assert.Contains(expectedText, ex.Message);
    }

    [Fact]
    public void DecodeRejectsBadFramingWithTypedErrors()
    {
        var wire = Sample().Encode();
        AssertViolation(ProtocolViolation.Truncated, []);
        AssertViolation(ProtocolViolation.Truncated, [0x80]);
        AssertViolation(ProtocolViolation.MalformedVarint, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        AssertViolation(ProtocolViolation.MessageTooLarge, [0x81, 0x50]);            // 10241
        AssertViolation(ProtocolViolation.Truncated, wire[..^1]);
        AssertViolation(ProtocolViolation.MalformedMessage, [.. wire, 0x00]);
        AssertViolation(ProtocolViolation.MalformedMessage, [0x03, 0x0a, 0x05, 0x01]); // submessage overruns the body
        // 10240 is allowed: the limit applies to the length, not to anything beyond it.
        // Moniker "nodeA" takes 7 bytes (3a 05 + 5); a moniker of 128+ bytes takes 3 + its length.
        var padded = Sample() with { Moniker = new string('m', NodeInfo.MaxSize - (Sample().EncodeBody().Length - 7) - 3) };
        Assert.Equal(NodeInfo.MaxSize, padded.EncodeBody().Length);
        Assert.Equal(padded, NodeInfo.Decode(padded.Encode()));

        static void AssertViolation(ProtocolViolation expected, byte[] input)
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => NodeInfo.Decode(input));
            Assert.Equal(expected, ex.Violation);
        }
    }

    [Fact]
    public void RandomBytesToTheDecoderOnlyEverRaiseProtocolViolations()
    {
        var random = new Random(10240);
        var valid = Sample().Encode();
        var decoded = 0;
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 200)];
                random.NextBytes(input);
                if (input.Length > 0 && random.Next(2) == 0) input[0] = (byte)(input.Length - 1 & 0x7f);
            }
            else
            {
                input = (byte[])valid.Clone();
                for (var m = random.Next(1, 4); m > 0; m--) input[random.Next(input.Length)] = (byte)random.Next(256);
            }
            try
            {
                var info = NodeInfo.Decode(input);
                decoded++;
                // Whatever decodes can be validated and compared without throwing anything else.
                if (!info.TryValidate(out _)) Assert.Throws<PeerRejectedException>(info.Validate);
                _ = info.TryGetNetAddress();
                try { Sample().CompatibleWith(info); }
                catch (PeerRejectedException) { }
            }
            catch (ProtocolViolationException)
            {
            }
            try
            {
                NodeInfo.DecodeBody(input);
            }
            catch (ProtocolViolationException)
            {
            }
        }
        Assert.True(decoded > 0, "some mutations should still decode");
    }

    [Fact]
    public void NullStringsAreRefused()
    {
        Assert.Throws<ArgumentNullException>(() => new NodeInfo { Moniker = null! });
        Assert.Throws<ArgumentNullException>(() => Sample() with { ListenAddr = null! });
    }
}
