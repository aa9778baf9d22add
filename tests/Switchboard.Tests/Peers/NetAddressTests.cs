using System.Net;
using System.Text.Json;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Peers;

public class NetAddressTests
{
    private const string Id = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

    // CometBFT p2p/netaddress_test.go TestNewNetAddressString, plus the bracket, port and strictness cases of
    // PROTOCOL.md 4.3 and Go's net.SplitHostPort / net.ParseIP. expected = null means TryParse must fail.
    public static TheoryData<string, string?> ParseCases => new()
    {
        // Go's table.
        { "127.0.0.1:8080", null },                         // no node id and no protocol
        { "tcp://127.0.0.1:8080", null },                   // no node id w/ tcp input
        { "udp://127.0.0.1:8080", null },                   // no node id w/ udp input
        { $"{Id}@127.0.0.1:8080", $"{Id}@127.0.0.1:8080" },
        { $"tcp://{Id}@127.0.0.1:8080", $"{Id}@127.0.0.1:8080" },
        { $"udp://{Id}@127.0.0.1:8080", $"{Id}@127.0.0.1:8080" },
        { $"tcp//{Id}@127.0.0.1:8080", null },              // malformed tcp input: "tcp//…" becomes the ID
        { $"udp//{Id}@127.0.0.1:8080", null },
        { "notahost", null },
        { "127.0.0.1:notapath", null },
        { "notahost:8080", null },
        { "8082", null },
        { "127.0.0:8080000", null },
        { "deadbeef@127.0.0.1:8080", null },                // too short node ID
        { "this-isnot-hex@127.0.0.1:8080", null },
        { "xxxxbeefdeadbeefdeadbeefdeadbeefdeadbeef@127.0.0.1:8080", null },
        { "tcp://deadbeef@127.0.0.1:8080", null },
        { "tcp://this-isnot-hex@127.0.0.1:8080", null },
        { "tcp://xxxxbeefdeadbeefdeadbeefdeadbeefdeadbeef@127.0.0.1:8080", null },
        { "tcp://@127.0.0.1:8080", null },                  // no node id
        { "tcp://@", null },
        { "tcp://:26656", null },
        { "", null },
        { "@", null },
        { " @", null },
        { " @ ", null },
        // IDs: 41 chars, one char short, exactly one '@'.
        { $"{Id}a@127.0.0.1:8080", null },
        { $"{Id[..^1]}@127.0.0.1:8080", null },
        { $"{Id}@{Id}@127.0.0.1:8080", null },
        // Upper-case hex is a valid ID (Go's hex decoder accepts it); NodeId keeps the lowercase form.
        { $"{Id.ToUpperInvariant()}@127.0.0.1:8080", $"{Id}@127.0.0.1:8080" },
        // Ports: decimal uint16, leading zeros allowed (strconv.ParseUint), nothing else.
        { $"{Id}@127.0.0.1:0", $"{Id}@127.0.0.1:0" },
        { $"{Id}@127.0.0.1:65535", $"{Id}@127.0.0.1:65535" },
        { $"{Id}@127.0.0.1:0080", $"{Id}@127.0.0.1:80" },
        { $"{Id}@127.0.0.1:65536", null },
        { $"{Id}@127.0.0.1:99999999999999999999", null },
        { $"{Id}@127.0.0.1:-1", null },
        { $"{Id}@127.0.0.1:+80", null },
        { $"{Id}@127.0.0.1: 80", null },
        { $"{Id}@127.0.0.1:", null },
        { $"{Id}@127.0.0.1", null },
        { $"{Id}@:26656", null },
        // IPv6 needs brackets; brackets must be exactly around the host.
        { $"{Id}@[2001:db8::1]:26656", $"{Id}@[2001:db8::1]:26656" },
        { $"{Id}@[2001:DB8:0:0:0:0:0:1]:26656", $"{Id}@[2001:db8::1]:26656" },
        { $"tcp://{Id}@[::1]:26656", $"{Id}@[::1]:26656" },
        { $"{Id}@2001:db8::1:26656", null },               // too many colons
        { $"{Id}@[2001:db8::1]", null },                   // missing port
        { $"{Id}@[2001:db8::1]:", null },
        { $"{Id}@[2001:db8::1]26656", null },
        { $"{Id}@[2001:db8::1]:26656:1", null },
        { $"{Id}@[2001:db8::1:26656", null },
        { $"{Id}@2001:db8::1]:26656", null },
        { $"{Id}@[[::1]]:26656", null },
        { $"{Id}@[]:26656", null },
        { $"{Id}@[1.2.3.4]:80", $"{Id}@1.2.3.4:80" },       // Go's SplitHostPort allows brackets around IPv4
        // IPv4-mapped IPv6 is printed as IPv4, as Go does.
        { $"{Id}@[::ffff:1.2.3.4]:80", $"{Id}@1.2.3.4:80" },
        { $"{Id}@[::ffff:0102:0304]:80", $"{Id}@1.2.3.4:80" },
        // Go's ParseIP is strict where .NET's IPAddress.Parse is lenient.
        { $"{Id}@127.1:80", null },
        { $"{Id}@127.0.0.01:80", null },
        { $"{Id}@0x7f.0.0.1:80", null },
        { $"{Id}@2130706433:80", null },
        { $"{Id}@256.0.0.1:80", null },
        { $"{Id}@1.2.3.4.5:80", null },
        { $"{Id}@[fe80::1%eth0]:80", null },               // zones are not IPs in Go
        { $"{Id}@[1:2:3:4:5:6:7:8:9]:80", null },
        { $"{Id}@[1::2::3]:80", null },
        { $"{Id}@[12345::1]:80", null },
        { $"{Id}@[1:2:3:4:5:6:7::8]:80", null },           // "::" standing for no group
        { $"{Id}@[1:2:3:4:5:6:1.2.3.4]:80", $"{Id}@[1:2:3:4:5:6:102:304]:80" },
        { $"{Id}@[1:2:3:4:5:1.2.3.4]:80", null },          // dotted tail in the wrong place
        { $"{Id}@[::1.2.3.04]:80", null },
        // A host name is not an IP literal: NetAddress never resolves (DialAddress does).
        { $"{Id}@localhost:26656", null },
    };

    [Theory]
    [MemberData(nameof(ParseCases))]
    public void ParsesLikeNewNetAddressString(string text, string? expected)
    {
        var ok = NetAddress.TryParse(text, out var address);
        Assert.Equal(expected is not null, ok);
        if (expected is null)
        {
            Assert.Null(address);
            var ex = Assert.Throws<FormatException>(() => NetAddress.Parse(text));
            Assert.Contains(text, ex.Message);
            return;
        }
        Assert.Equal(expected, address!.ToString());
        Assert.Equal(address, NetAddress.Parse(text));
        // Printing and parsing again is the identity.
        Assert.Equal(address, NetAddress.Parse(address.ToString()));
    }

    [Fact]
    public void HostNameErrorPointsToDialAddress()
    {
        var ex = Assert.Throws<FormatException>(() => NetAddress.Parse($"{Id}@localhost:26656"));
        Assert.Contains("DialAddress", ex.Message);
    }

    [Theory]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("1::", "1::")]
    [InlineData("0:0:0:0:0:0:0:1", "::1")]
    [InlineData("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]      // equal runs: the first is compressed
    [InlineData("1:0:0:2:0:0:0:3", "1:0:0:2::3")]                  // the longest run is compressed
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]   // a single zero group is not
    [InlineData("::ffff:1.2.3.4", "1.2.3.4")]                      // IPv4-mapped → IPv4
    [InlineData("::1.2.3.4", "::102:304")]                         // IPv4-compatible: .NET would print ::1.2.3.4
    [InlineData("::ffff:0:1.2.3.4", "::ffff:0:102:304")]           // SIIT: .NET would print a dotted tail
    [InlineData("fe80::5efe:1.2.3.4", "fe80::5efe:102:304")]       // ISATAP: likewise
    [InlineData("64:ff9b::1.2.3.4", "64:ff9b::102:304")]
    public void PrintsIpsAsGoDoes(string input, string expected)
    {
        var address = new NetAddress(default, IPAddress.Parse(input), 1);
        Assert.Equal(expected.Contains(':') ? $"[{expected}]:1" : $"{expected}:1", address.DialString);
        Assert.Equal(expected, address.ToProto().Ip);
    }

    [Fact]
    public void NormalisesMappedAddressesAndZonesAtConstruction()
    {
        var mapped = new NetAddress(NodeId.Parse(Id), IPAddress.Parse("::ffff:10.0.0.1"), 26656);
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetwork, mapped.Ip.AddressFamily);
        Assert.Equal($"{Id}@10.0.0.1:26656", mapped.ToString());
        Assert.Equal(new NetAddress(NodeId.Parse(Id), IPAddress.Parse("10.0.0.1"), 26656), mapped);
        Assert.Equal(mapped.GetHashCode(), new NetAddress(NodeId.Parse(Id), IPAddress.Parse("10.0.0.1"), 26656).GetHashCode());
        Assert.False(mapped.IsRoutable); // RFC 1918 through the mapping

        var with = mapped with { Ip = IPAddress.Parse("::ffff:8.8.8.8") };
        Assert.Equal("8.8.8.8", with.Ip.ToString());

        var zoned = new NetAddress(default, IPAddress.Parse("fe80::1%3"), 1);
        Assert.Equal(0, zoned.Ip.ScopeId);
        Assert.Equal("[fe80::1]:1", zoned.ToString());

        Assert.Throws<ArgumentNullException>(() => new NetAddress(default, null!, 1));
    }

    [Fact]
    public void ToStringWithoutIdIsTheDialString()
    {
        var address = new NetAddress(default, IPAddress.Parse("2001:db8::1"), 26656);
        Assert.Equal("[2001:db8::1]:26656", address.ToString());
        Assert.Equal("[2001:db8::1]:26656", address.DialString);
        var withId = address with { Id = NodeId.Parse(Id) };
        Assert.Equal($"{Id}@[2001:db8::1]:26656", withId.ToString());
        Assert.Equal("[2001:db8::1]:26656", withId.DialString);
    }

    // (address, valid, local, routable): every range of PROTOCOL.md 4.3 with the addresses just inside and just
    // outside each boundary, plus CometBFT's TestNetAddressProperties case.
    public static TheoryData<string, bool, bool, bool> PropertyCases => new()
    {
        { "127.0.0.1", true, true, false },
        // Unspecified, broadcast, RFC 3849: invalid.
        { "0.0.0.0", false, true, false },
        { "::", false, false, false },
        { "255.255.255.255", false, false, false },
        { "255.255.255.254", true, false, true },
        { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true, false, true },
        { "2001:db8::", false, false, false },
        { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false, false, false },
        { "2001:db9::", true, false, true },
        // Local: 0.0.0.0/8 and loopback.
        { "0.0.0.1", true, true, false },
        { "0.255.255.255", true, true, false },
        { "1.0.0.0", true, false, true },
        { "126.255.255.255", true, false, true },
        { "127.0.0.0", true, true, false },
        { "127.255.255.255", true, true, false },
        { "128.0.0.0", true, false, true },
        { "::1", true, true, false },
        { "::2", true, false, true },
        { "::ffff:127.0.0.1", true, true, false },
        // RFC 1918.
        { "9.255.255.255", true, false, true },
        { "10.0.0.0", true, false, false },
        { "10.255.255.255", true, false, false },
        { "11.0.0.0", true, false, true },
        { "172.15.255.255", true, false, true },
        { "172.16.0.0", true, false, false },
        { "172.31.255.255", true, false, false },
        { "172.32.0.0", true, false, true },
        { "192.167.255.255", true, false, true },
        { "192.168.0.0", true, false, false },
        { "192.168.255.255", true, false, false },
        { "192.169.0.0", true, false, true },
        // RFC 3927.
        { "169.253.255.255", true, false, true },
        { "169.254.0.0", true, false, false },
        { "169.254.255.255", true, false, false },
        { "169.255.0.0", true, false, true },
        // RFC 4862 fe80::/64 (the rest of fe80::/10 counts as routable in CometBFT).
        { "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, false, true },
        { "fe80::", true, false, false },
        { "fe80::ffff:ffff:ffff:ffff", true, false, false },
        { "fe80:0:0:1::", true, false, true },
        // RFC 4193 fc00::/7.
        { "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, false, true },
        { "fc00::", true, false, false },
        { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, false, false },
        { "fe00::", true, false, true },
        // RFC 4843 2001:10::/28.
        { "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", true, false, true },
        { "2001:10::", true, false, false },
        { "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", true, false, false },
        { "2001:20::", true, false, true },
        // Not excluded by CometBFT: CGNAT, multicast, class E, 6to4, Teredo, NAT64, IPv4-compatible.
        { "100.64.0.1", true, false, true },
        { "224.0.0.1", true, false, true },
        { "240.0.0.1", true, false, true },
        { "2002::1", true, false, true },
        { "2001::1", true, false, true },
        { "64:ff9b::a00:1", true, false, true },
        { "::a00:1", true, false, true },
    };

    [Theory]
    [MemberData(nameof(PropertyCases))]
    public void ValidLocalRoutable(string ip, bool valid, bool local, bool routable)
    {
        var address = new NetAddress(NodeId.Parse(Id), IPAddress.Parse(ip), 26656);
        Assert.Equal(valid, address.IsValid);
        Assert.Equal(local, address.IsLocal);
        Assert.Equal(routable, address.IsRoutable);
        // Without an ID nothing is valid, hence nothing routable; locality does not depend on the ID.
        var noId = address with { Id = default };
        Assert.False(noId.IsValid);
        Assert.False(noId.IsRoutable);
        Assert.Equal(local, noId.IsLocal);
    }

    [Fact]
    public void PortZeroIsValid()
    {
        Assert.True(new NetAddress(NodeId.Parse(Id), IPAddress.Parse("8.8.8.8"), 0).IsRoutable);
    }

    public enum Range { Rfc1918, Rfc3849, Rfc3927, Rfc3964, Rfc4193, Rfc4380, Rfc4843, Rfc4862, Rfc6052, Rfc6145, OnionCat, IPv4 }

    public static TheoryData<Range, string, bool> ClassifierCases => new()
    {
        { Range.Rfc3964, "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
        { Range.Rfc3964, "2002::", true },
        { Range.Rfc3964, "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
        { Range.Rfc3964, "2003::", false },
        { Range.Rfc4380, "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
        { Range.Rfc4380, "2001::", true },
        { Range.Rfc4380, "2001:0:1234::f3fe:fdfc", true },
        { Range.Rfc4380, "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", true },
        { Range.Rfc4380, "2001:1::", false },
        { Range.Rfc6052, "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false },
        { Range.Rfc6052, "64:ff9b::", true },
        { Range.Rfc6052, "64:ff9b::c01:203", true },
        { Range.Rfc6052, "64:ff9b::ffff:ffff", true },
        { Range.Rfc6052, "64:ff9b:0:0:0:1::", false },
        { Range.Rfc6145, "::fffe:ffff:ffff:ffff", false },
        { Range.Rfc6145, "::ffff:0:0:0", true },
        { Range.Rfc6145, "::ffff:0:c01:203", true },
        { Range.Rfc6145, "::ffff:0:ffff:ffff", true },
        { Range.Rfc6145, "::ffff:1:0:0", false },
        { Range.Rfc6145, "::ffff:1.2.3.4", false },                 // IPv4-mapped is IPv4, not SIIT
        { Range.OnionCat, "fd87:d87e:eb42:ffff:ffff:ffff:ffff:ffff", false },
        { Range.OnionCat, "fd87:d87e:eb43::", true },
        { Range.OnionCat, "fd87:d87e:eb43:1234::5678", true },
        { Range.OnionCat, "fd87:d87e:eb43:ffff:ffff:ffff:ffff:ffff", true },
        { Range.OnionCat, "fd87:d87e:eb44::", false },
        { Range.Rfc4193, "fd87:d87e:eb43::1", true },
        { Range.Rfc1918, "10.0.0.1", true },
        { Range.Rfc1918, "::ffff:10.0.0.1", true },
        { Range.Rfc1918, "::a00:1", false },                        // IPv4-compatible is IPv6
        { Range.Rfc3849, "2001:db8::1", true },
        { Range.Rfc3927, "169.254.1.1", true },
        { Range.Rfc4843, "2001:10::1", true },
        { Range.Rfc4862, "fe80::1", true },
        { Range.IPv4, "1.2.3.4", true },
        { Range.IPv4, "::ffff:1.2.3.4", true },
        { Range.IPv4, "::1.2.3.4", false },
        { Range.IPv4, "2001:db8::1", false },
    };

    [Theory]
    [MemberData(nameof(ClassifierCases))]
    public void AddressBookClassifiers(Range range, string ip, bool expected)
    {
        var a = new NetAddress(default, IPAddress.Parse(ip), 1);
        var actual = range switch
        {
            Range.Rfc1918 => a.IsRfc1918,
            Range.Rfc3849 => a.IsRfc3849,
            Range.Rfc3927 => a.IsRfc3927,
            Range.Rfc3964 => a.IsRfc3964,
            Range.Rfc4193 => a.IsRfc4193,
            Range.Rfc4380 => a.IsRfc4380,
            Range.Rfc4843 => a.IsRfc4843,
            Range.Rfc4862 => a.IsRfc4862,
            Range.Rfc6052 => a.IsRfc6052,
            Range.Rfc6145 => a.IsRfc6145,
            Range.OnionCat => a.IsOnionCatTor,
            Range.IPv4 => a.IsIPv4,
            _ => throw new ArgumentOutOfRangeException(nameof(range)),
        };
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void SameMatchesDialStringOrId()
    {
        var a = NetAddress.Parse($"{Id}@1.2.3.4:26656");
        var otherId = NodeId.Parse("0123456789abcdef0123456789abcdef01234567");
        Assert.True(a.Same(a with { Id = otherId }));                           // same dial string
        Assert.True(a.Same(a with { Ip = IPAddress.Parse("5.6.7.8") }));       // same ID
        Assert.False(a.Same(new NetAddress(otherId, IPAddress.Parse("5.6.7.8"), 26656)));
        Assert.False(a.Same(a with { Id = otherId, Port = 1 }));
        // Two addresses without an ID are not "the same node" unless the dial strings match.
        var noId = a with { Id = default };
        Assert.False(noId.Same(noId with { Port = 1 }));
        Assert.True(noId.Same(noId with { }));
        Assert.False(a.Same(null));
    }

    [Fact]
    public void PexVectorAddressesRoundTripThroughProto()
    {
        using var doc = Vectors.Json("pex.json");
        var count = 0;
        foreach (var vector in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            if (vector.GetProperty("addrs").ValueKind != JsonValueKind.Array) continue;
            foreach (var addr in vector.GetProperty("addrs").EnumerateArray())
            {
                var id = addr.GetProperty("id").GetString()!;
                var ip = addr.GetProperty("ip").GetString()!;
                var port = addr.GetProperty("port").GetUInt16();
                var protoHex = addr.GetProperty("net_address_proto_hex").GetString()!;

                var expected = new NetAddress(NodeId.Parse(id), IPAddress.Parse(ip), port);
                Assert.Equal(protoHex, Vectors.ToHex(expected.EncodeProto()));
                var decoded = NetAddress.DecodeProto(Vectors.Hex(protoHex));
                Assert.Equal(expected, decoded);
                Assert.Equal(ip, decoded.ToProto().Ip);
                Assert.Equal(NetAddressText.JoinHostPort(ip, port), decoded.DialString);
                count++;
            }
        }
        Assert.Equal(7, count);
    }

    [Fact]
    public void ProtoDecodeRules()
    {
        Switchboard.Wire.Proto.NetAddress P(string id, string ip, uint port) => new() { Id = id, Ip = ip, Port = port };

        var ok = NetAddress.FromProto(P(Id, "1.2.3.4", 65535));
        Assert.Equal(65535, ok.Port);

        // The ID is not checked at decode time; an unusable one leaves the address without an ID (invalid).
        var badId = NetAddress.FromProto(P("not-an-id", "1.2.3.4", 1));
        Assert.True(badId.Id.IsEmpty);
        Assert.False(badId.IsValid);
        Assert.True(NetAddress.FromProto(P("", "1.2.3.4", 1)).Id.IsEmpty);

        // Mapped IPv4 text decodes to the IPv4 address and re-encodes as Go prints it.
        Assert.Equal("1.2.3.4", NetAddress.FromProto(P(Id, "::ffff:1.2.3.4", 1)).ToProto().Ip);

        foreach (var (ip, port) in new[] { ("x", 1u), ("", 1u), ("1.2.3", 1u), ("localhost", 1u), ("fe80::1%eth0", 1u), ("1.2.3.4", 65536u), ("1.2.3.4", uint.MaxValue) })
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => NetAddress.FromProto(P(Id, ip, port)));
            Assert.Equal(ProtocolViolation.MalformedMessage, ex.Violation);
            Assert.False(NetAddress.TryFromProto(P(Id, ip, port), out _, out var error));
            Assert.False(string.IsNullOrEmpty(error));
        }
    }

    [Fact]
    public void RandomBytesToTheDecoderOnlyEverRaiseProtocolViolations()
    {
        var random = new Random(4_3);
        var valid = Vectors.Hex("0a2835313963616539336539336164303131643738353335353839343430356564386661383136326336120b323030313a6462383a3a3718ffff03");
        var decoded = 0;
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 80)];
                random.NextBytes(input);
            }
            else
            {
                // Mutations of a real encoding reach deeper into the field parsers than pure noise.
                input = (byte[])valid.Clone();
                for (var m = random.Next(1, 4); m > 0; m--) input[random.Next(input.Length)] = (byte)random.Next(256);
                if (random.Next(4) == 0) input = input[..random.Next(input.Length)];
            }
            try
            {
                NetAddress.DecodeProto(input);
                decoded++;
            }
            catch (ProtocolViolationException)
            {
            }
        }
        Assert.True(decoded > 0, "some mutations should still decode");
    }

    [Fact]
    public void RandomTextNeverThrowsAndAcceptedIpsAgreeWithDotNet()
    {
        var random = new Random(5952);
        const string alphabet = "0123456789abcdefABCDEF:.[]%@/ x-";
        string[] seeds = ["1.2.3.4", "::1", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "fe80::1:2", "10.0.0.255", "1:2:3:4:5:6:1.2.3.4"];
        var accepted = 0;
        for (var i = 0; i < 50_000; i++)
        {
            string text;
            if (i % 2 == 0)
            {
                var chars = new char[random.Next(0, 24)];
                for (var c = 0; c < chars.Length; c++) chars[c] = alphabet[random.Next(alphabet.Length)];
                text = new string(chars);
            }
            else
            {
                // Small edits of real IPs: mostly near-misses, some still valid.
                var chars = seeds[random.Next(seeds.Length)].ToList();
                for (var m = random.Next(1, 3); m > 0; m--)
                {
                    var at = random.Next(chars.Count + 1);
                    switch (random.Next(3))
                    {
                        case 0: chars.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                        case 1 when at < chars.Count: chars.RemoveAt(at); break;
                        default: if (at < chars.Count) chars[at] = alphabet[random.Next(alphabet.Length)]; break;
                    }
                }
                text = new string([.. chars]);
            }
            NetAddress.TryParse($"{Id}@{text}:1", out _);
            NetAddress.TryParse($"{Id}@[{text}]:1", out _);
            NetAddress.TryParse(text, out _);
            DialAddress.TryParse(text, out _);
            if (NetAddressText.TryParseIp(text, out var ours))
            {
                // Go's syntax is a strict subset of what .NET accepts, and both must mean the same address.
                accepted++;
                Assert.True(IPAddress.TryParse(text, out var theirs), text);
                Assert.Equal(NetAddressText.Normalize(theirs), ours);
            }
        }
        Assert.True(accepted > 100);
    }

    [Fact]
    public void RandomIPv6PrintsAndParsesBack()
    {
        var random = new Random(6);
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < 20_000; i++)
        {
            // Half the groups zero, so runs of every length and position occur.
            for (var g = 0; g < 8; g++)
            {
                var value = random.Next(2) == 0 ? 0 : random.Next(1, 0x10000);
                bytes[2 * g] = (byte)(value >> 8);
                bytes[2 * g + 1] = (byte)value;
            }
            var ip = NetAddressText.Normalize(new IPAddress(bytes));
            var text = NetAddressText.FormatIp(ip);
            Assert.True(NetAddressText.TryParseIp(text, out var back), text);
            Assert.Equal(ip, back);
            Assert.DoesNotContain(":::", text);
            Assert.Equal(text.ToLowerInvariant(), text);
            // RFC 5952: never a dotted tail, never "::" for a single group, no leading zeros.
            if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                Assert.DoesNotContain('.', text);
                foreach (var group in text.Split(':'))
                    Assert.False(group.Length > 1 && group[0] == '0', text);
            }
        }
    }
}
