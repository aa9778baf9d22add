using System.Net;
using System.Text;
using System.Xml;
using Switchboard.Nat;

namespace Switchboard.Tests.Nat;

/// <summary>Parsers for everything a gateway sends: no network, every failure a typed <see cref="NatException"/>.</summary>
public class NatParserTests
{
    private static readonly Uri s_location = new("http://10.99.0.1:5000/rootDesc.xml");

    // ---- SSDP ----

    private static byte[] CapturedSsdpReply()
    {
        // ssdp-reply.txt holds the M-SEARCH, then "<<< reply from …", then the reply, then a LOCATION= summary line.
        var text = Encoding.ASCII.GetString(GatewayPrecondition.ReadUpnpFile("ssdp-reply.txt"));
        var start = text.IndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
        var end = text.IndexOf("\nLOCATION=", StringComparison.Ordinal);
        return Encoding.ASCII.GetBytes(text[start..end] + "\r\n\r\n");
    }

    [Fact]
    public void Ssdp_CapturedMiniupnpdReply_Parses()
    {
        var r = SsdpResponse.Parse(CapturedSsdpReply());
        Assert.Equal(s_location, r.Location);
        Assert.Equal("urn:schemas-upnp-org:device:InternetGatewayDevice:1", r.SearchTarget);
        Assert.Equal("Debian/6.18.44-fc-v657 UPnP/1.1 MiniUPnPd/2.3.1", r.Server);
        Assert.StartsWith("uuid:922028f4-f914-4c28-b0ea-e92c2874eb5c::", r.Usn);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nlocation: http://192.168.1.1:1900/igd.xml\r\nst: upnp:rootdevice\r\n\r\n")]
    [InlineData("HTTP/1.0 200 OK\nLocation:http://192.168.1.1:1900/igd.xml\nServer:  x \n\n")]
    [InlineData("http/1.1 200 ok\r\n  LoCaTiOn  :   http://192.168.1.1:1900/igd.xml   \r\ngarbage line\r\n\r\n")]
    public void Ssdp_OddCasingAndWhitespace_Parse(string reply)
    {
        var r = SsdpResponse.Parse(Encoding.ASCII.GetBytes(reply));
        Assert.Equal(new Uri("http://192.168.1.1:1900/igd.xml"), r.Location);
    }

    [Theory]
    [InlineData("")]
    [InlineData("NOTIFY * HTTP/1.1\r\nLOCATION: http://1.2.3.4/\r\n\r\n")]
    [InlineData("HTTP/1.1 404 Not Found\r\nLOCATION: http://1.2.3.4/\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nST: x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nLOCATION: ftp://1.2.3.4/x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nLOCATION: not a url\r\n\r\n")]
    [InlineData("\u0000\u0001\u00ff\u00fe")]
    public void Ssdp_Garbage_IsMalformed(string reply)
    {
        var ex = Assert.Throws<NatException>(() => SsdpResponse.Parse(Encoding.Latin1.GetBytes(reply)));
        Assert.Equal(NatError.MalformedResponse, ex.Error);
    }

    [Fact]
    public void Ssdp_OversizeDatagram_IsRefusedBeforeDecoding()
    {
        var big = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nLOCATION: http://1.2.3.4/\r\nX: " + new string('a', 9000) + "\r\n\r\n");
        Assert.Equal(NatError.ResponseTooLarge, Assert.Throws<NatException>(() => SsdpResponse.Parse(big)).Error);
    }

    [Fact]
    public void Ssdp_SearchRequest_HasTheRequiredHeaders()
    {
        var text = Encoding.ASCII.GetString(SsdpDiscovery.BuildSearch(new IPEndPoint(IPAddress.Parse("239.255.255.250"), 1900), "urn:x", 1));
        Assert.Equal("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:x\r\n\r\n", text);
    }

    // ---- device descriptions ----

    [Fact]
    public void Description_CapturedIgdV2_FindsWanIpConnection2()
    {
        var d = IgdDescription.Parse(GatewayPrecondition.ReadUpnpFile("rootDesc.xml"), s_location);
        Assert.Equal("urn:schemas-upnp-org:device:InternetGatewayDevice:2", d.RootDeviceType);
        Assert.Equal(5, d.Services.Count); // L3F, DP, WANCfg, IPConn, IP6FCtl
        var wan = d.WanConnection!;
        Assert.Equal("urn:schemas-upnp-org:service:WANIPConnection:2", wan.ServiceType);
        Assert.Equal("urn:schemas-upnp-org:device:WANConnectionDevice:2", wan.DeviceType);
        Assert.Equal(new Uri("http://10.99.0.1:5000/ctl/IPConn"), wan.ControlUrl);
        Assert.Equal("/WANIPCn.xml", wan.ScpdUrl);
    }

    private static byte[] Description(string services, string? urlBase = null, string rootType = "urn:schemas-upnp-org:device:InternetGatewayDevice:1") => Encoding.UTF8.GetBytes(
        $"""
        <?xml version="1.0"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0">
          <specVersion><major>1</major><minor>0</minor></specVersion>
          {(urlBase is null ? "" : $"<URLBase>{urlBase}</URLBase>")}
          <device><deviceType>{rootType}</deviceType>
            <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
              <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
                <serviceList>{services}</serviceList>
              </device></deviceList>
            </device></deviceList>
          </device>
        </root>
        """);

    private static string Service(string type, string control) =>
        $"<service><serviceType>{type}</serviceType><serviceId>x</serviceId><SCPDURL>/s.xml</SCPDURL><controlURL>{control}</controlURL><eventSubURL>/e</eventSubURL></service>";

    [Fact]
    public void Description_IgdV1_FindsWanIpConnection1()
    {
        var d = IgdDescription.Parse(Description(Service("urn:schemas-upnp-org:service:WANIPConnection:1", "/ctl/IPConn")), s_location);
        Assert.Equal("urn:schemas-upnp-org:device:InternetGatewayDevice:1", d.RootDeviceType);
        Assert.Equal("urn:schemas-upnp-org:service:WANIPConnection:1", d.WanConnection!.ServiceType);
        Assert.Equal(new Uri("http://10.99.0.1:5000/ctl/IPConn"), d.WanConnection.ControlUrl);
    }

    [Fact]
    public void Description_PppOnly_FindsWanPppConnection_AndPrefersIpWhenBoth()
    {
        var ppp = Service("urn:schemas-upnp-org:service:WANPPPConnection:1", "/ctl/PPP");
        Assert.Equal("urn:schemas-upnp-org:service:WANPPPConnection:1", IgdDescription.Parse(Description(ppp), s_location).WanConnection!.ServiceType);
        var both = ppp + Service("urn:schemas-upnp-org:service:WANIPConnection:1", "/ctl/IP1") + Service("urn:schemas-upnp-org:service:WANIPConnection:2", "/ctl/IP2");
        Assert.Equal(new Uri("http://10.99.0.1:5000/ctl/IP2"), IgdDescription.Parse(Description(both), s_location).WanConnection!.ControlUrl);
    }

    [Theory]
    [InlineData(null, "/ctl/IPConn", "http://10.99.0.1:5000/ctl/IPConn")]
    [InlineData(null, "ctl/IPConn", "http://10.99.0.1:5000/ctl/IPConn")]
    [InlineData(null, "http://10.99.0.1:49000/upnp/control", "http://10.99.0.1:49000/upnp/control")]
    [InlineData("http://10.99.0.1:49152/", "/ctl/IPConn", "http://10.99.0.1:49152/ctl/IPConn")]
    [InlineData("http://10.99.0.1:49152/base/", "ctl", "http://10.99.0.1:49152/base/ctl")]
    [InlineData("not a url", "/ctl", "http://10.99.0.1:5000/ctl")]
    public void Description_ControlUrl_ResolvesAgainstUrlBaseOrLocation(string? urlBase, string control, string expected)
    {
        var d = IgdDescription.Parse(Description(Service("urn:schemas-upnp-org:service:WANIPConnection:1", control), urlBase), s_location);
        Assert.Equal(new Uri(expected), d.WanConnection!.ControlUrl);
    }

    [Fact]
    public void Description_WithoutWanService_HasNoConnection()
    {
        var d = IgdDescription.Parse(Description(Service("urn:schemas-upnp-org:service:Layer3Forwarding:1", "/ctl/L3F")), s_location);
        Assert.Null(d.WanConnection);
        Assert.Single(d.Services);
    }

    // ---- hostile XML: always a typed error ----

    public static TheoryData<string, NatError> HostileDocuments()
    {
        var laughs = new StringBuilder("<?xml version=\"1.0\"?><!DOCTYPE root [<!ENTITY lol0 \"lol\">");
        for (var i = 1; i < 10; i++) laughs.Append($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{i - 1};", 10))}\">");
        laughs.Append("]><root>&lol9;</root>");
        return new TheoryData<string, NatError>
        {
            { "<?xml version=\"1.0\"?><!DOCTYPE root [<!ENTITY a \"x\">]><root>&a;</root>", NatError.MalformedResponse },
            { "<?xml version=\"1.0\"?><!DOCTYPE root [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><root>&xxe;</root>", NatError.MalformedResponse },
            { "<?xml version=\"1.0\"?><!DOCTYPE root SYSTEM \"http://10.99.0.1/evil.dtd\"><root/>", NatError.MalformedResponse },
            { laughs.ToString(), NatError.MalformedResponse },
            { "<root>" + string.Concat(Enumerable.Repeat("<a>", 5000)) + string.Concat(Enumerable.Repeat("</a>", 5000)) + "</root>", NatError.MalformedResponse },
            { "<root><device><deviceType>" + new string('x', 70_000) + "</deviceType></device></root>", NatError.ResponseTooLarge },
            { "<root><unclosed></root>", NatError.MalformedResponse },
            { "this is not xml", NatError.MalformedResponse },
            { "", NatError.MalformedResponse },
            { "<html><body>404</body></html>", NatError.MalformedResponse },
            { "<root><device><serviceList><service><serviceType><b>x</b></serviceType></service></serviceList></device></root>", NatError.MalformedResponse },
        };
    }

    [Theory]
    [MemberData(nameof(HostileDocuments))]
    public void Description_HostileXml_IsATypedError(string document, NatError expected)
    {
        var ex = Assert.Throws<NatException>(() => IgdDescription.Parse(Encoding.UTF8.GetBytes(document), s_location));
        Assert.Equal(expected, ex.Error);
    }

    [Theory]
    [MemberData(nameof(HostileDocuments))]
    public void Soap_HostileXml_IsATypedError(string document, NatError expected)
    {
        var ex = Assert.Throws<NatException>(() => Soap.ParseResponse("GetExternalIPAddress", Encoding.UTF8.GetBytes(document)));
        Assert.Equal(expected, ex.Error);
        Assert.IsNotType<UpnpException>(ex);
    }

    [Fact]
    public void Description_Dtd_IsRefusedByTheXmlReaderItself()
    {
        var ex = Assert.Throws<NatException>(() => IgdDescription.Parse(Encoding.UTF8.GetBytes("<!DOCTYPE root [<!ENTITY a \"x\">]><root>&a;</root>"), s_location));
        Assert.IsType<XmlException>(ex.InnerException);
        Assert.Contains("DTD", ex.Message);
    }

    // ---- SOAP ----

    private static byte[] Envelope(string body) => Encoding.UTF8.GetBytes(
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
        + body + "</s:Body></s:Envelope>\r\n");

    private static byte[] Fault(int code, string description) => Envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        + "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>" + code + "</errorCode><errorDescription>" + description
        + "</errorDescription></UPnPError></detail></s:Fault>");

    [Fact]
    public void Soap_Response_YieldsTheOutputArguments()
    {
        var body = Envelope("<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\"><NewExternalIPAddress>203.0.113.1</NewExternalIPAddress></u:GetExternalIPAddressResponse>");
        Assert.Equal("203.0.113.1", Soap.ParseResponse("GetExternalIPAddress", body)["NewExternalIPAddress"]);
        var empty = Envelope("<u:AddPortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"/>");
        Assert.Empty(Soap.ParseResponse("AddPortMapping", empty));
    }

    [Theory]
    [InlineData(718, "ConflictInMappingEntry", UpnpErrorCode.ConflictInMappingEntry)]
    [InlineData(606, "Action not authorized", UpnpErrorCode.ActionNotAuthorized)]
    [InlineData(725, "OnlyPermanentLeasesSupported", UpnpErrorCode.OnlyPermanentLeasesSupported)]
    [InlineData(714, "NoSuchEntryInArray", UpnpErrorCode.NoSuchEntryInArray)]
    [InlineData(501, "Action Failed", UpnpErrorCode.ActionFailed)]
    [InlineData(899, "Vendor specific", (UpnpErrorCode)899)]
    public void Soap_Fault_IsAUpnpException(int code, string description, UpnpErrorCode expected)
    {
        var ex = Assert.Throws<UpnpException>(() => Soap.ParseResponse("AddPortMapping", Fault(code, description)));
        Assert.Equal((code, expected, description, "AddPortMapping", NatError.UpnpFault), (ex.Code, ex.ErrorCode, ex.Description, ex.Action, ex.Error));
    }

    [Theory]
    [InlineData("<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring></s:Fault>")]
    [InlineData("<s:Fault><detail><UPnPError><errorCode>abc</errorCode></UPnPError></detail></s:Fault>")]
    [InlineData("<u:SomethingElseResponse xmlns:u=\"x\"/>")]
    [InlineData("")]
    public void Soap_WrongShape_IsMalformed(string body)
    {
        var ex = Assert.Throws<NatException>(() => Soap.ParseResponse("AddPortMapping", Envelope(body)));
        Assert.Equal(NatError.MalformedResponse, ex.Error);
    }

    [Fact]
    public void Soap_Request_EscapesArguments()
    {
        var text = Encoding.UTF8.GetString(Soap.BuildRequest("urn:schemas-upnp-org:service:WANIPConnection:1", "AddPortMapping",
            [new("NewPortMappingDescription", "a<b>&\"c\"")]));
        Assert.Contains("<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">", text);
        Assert.Contains("<NewPortMappingDescription>a&lt;b&gt;&amp;&quot;c&quot;</NewPortMappingDescription>", text);
    }

    // ---- HTTP responses ----

    private static Task<MiniHttpResponse> ReadHttp(string raw, int max = 1024) =>
        MiniHttp.ReadResponseAsync(new MemoryStream(Encoding.Latin1.GetBytes(raw)), max);

    [Fact]
    public async Task Http_ContentLength_ChunkedAndClose_AllFrameTheBody()
    {
        var cl = await ReadHttp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/xml\r\n\r\nhelloEXTRA");
        Assert.Equal((200, "hello", "text/xml"), (cl.Status, Encoding.ASCII.GetString(cl.Body), cl.Headers["content-type"]));
        var chunked = await ReadHttp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n");
        Assert.Equal("hello world", Encoding.ASCII.GetString(chunked.Body));
        var close = await ReadHttp("HTTP/1.0 500 Internal Server Error\nServer: x\n\nbody until close");
        Assert.Equal((500, "body until close"), (close.Status, Encoding.ASCII.GetString(close.Body)));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", NatError.ResponseTooLarge)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", NatError.ResponseTooLarge)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NatError.MalformedResponse)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX", NatError.MalformedResponse)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", NatError.MalformedResponse)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", NatError.MalformedResponse)]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n", NatError.MalformedResponse)]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", NatError.MalformedResponse)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Le", NatError.MalformedResponse)]
    [InlineData("", NatError.MalformedResponse)]
    public async Task Http_BadOrOversizeResponses_AreTyped(string raw, NatError expected)
    {
        var ex = await Assert.ThrowsAsync<NatException>(() => ReadHttp(raw));
        Assert.Equal(expected, ex.Error);
    }

    [Fact]
    public async Task Http_OversizeHeaders_AreRefused()
    {
        var raw = "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Repeat("X-Pad: " + new string('p', 1000) + "\r\n", 20)) + "\r\n";
        Assert.Equal(NatError.ResponseTooLarge, (await Assert.ThrowsAsync<NatException>(() => ReadHttp(raw))).Error);
        var endless = "HTTP/1.1 200 OK\r\nX: " + new string('a', 20_000);
        Assert.Equal(NatError.ResponseTooLarge, (await Assert.ThrowsAsync<NatException>(() => ReadHttp(endless))).Error);
    }

    [Theory]
    [InlineData("https://10.0.0.1/x")]
    [InlineData("http://router.local/x")]
    [InlineData("http://[fe80::1]/x")]
    public void Http_OnlyHttpWithIpv4Literals_IsUsed(string url)
    {
        Assert.Equal(NatError.UnsupportedGateway, Assert.Throws<NatException>(() => MiniHttp.EndpointOf(new Uri(url))).Error);
    }

    [Fact]
    public void Http_Request_HasHostLengthAndClose()
    {
        var text = Encoding.ASCII.GetString(MiniHttp.BuildRequest("POST", new Uri("http://10.99.0.1:5000/ctl/IPConn"), [new("SOAPAction", "\"a#b\"")], [1, 2, 3]));
        Assert.StartsWith("POST /ctl/IPConn HTTP/1.1\r\nHost: 10.99.0.1:5000\r\nSOAPAction: \"a#b\"\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", text);
    }

    // ---- NAT-PMP ----

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    [Fact]
    public void NatPmp_Requests_AreRfc6886Layout()
    {
        Assert.Equal(Hex("0000"), NatPmpCodec.ExternalAddressRequest());
        Assert.Equal(Hex("00 02 0000 6cd0 6cd1 00000e10"), NatPmpCodec.MapRequest(NatPmpCodec.OpMapTcp, 27856, 27857, 3600));
        Assert.Equal(Hex("00 02 0000 6cd0 0000 00000000"), NatPmpCodec.MapRequest(NatPmpCodec.OpMapTcp, 27856, 0, 0));
    }

    [Fact]
    public void NatPmp_Responses_Parse()
    {
        var ext = NatPmpCodec.Parse(Hex("00 80 0000 00001234 cb007101"), NatPmpCodec.OpExternalAddress);
        Assert.Equal((NatPmpResultCode.Success, 0x1234u, IPAddress.Parse("203.0.113.1")), (ext.Result, ext.Epoch, ext.ExternalAddress));
        var map = NatPmpCodec.Parse(Hex("00 82 0000 00000010 6cd0 6cd1 00000e10"), NatPmpCodec.OpMapTcp);
        Assert.Equal(((ushort)27856, (ushort)27857, 3600u), (map.InternalPort, map.ExternalPort, map.Lifetime));
    }

    [Theory]
    [InlineData("", NatPmpCodec.OpExternalAddress)]
    [InlineData("00 80 0000", NatPmpCodec.OpExternalAddress)]
    [InlineData("00 80 0000 00001234 cb00", NatPmpCodec.OpExternalAddress)]
    [InlineData("00 82 0000 00000010 6cd0 6cd1", NatPmpCodec.OpMapTcp)]
    [InlineData("01 80 0000 00001234 cb007101", NatPmpCodec.OpExternalAddress)]
    [InlineData("00 00 0000 00001234 cb007101", NatPmpCodec.OpExternalAddress)]
    [InlineData("00 81 0000 00000010 6cd0 6cd1 00000e10", NatPmpCodec.OpMapTcp)]
    public void NatPmp_TruncatedOrWrongVersionOrOpcode_IsMalformed(string hex, byte opcode)
    {
        Assert.Equal(NatError.MalformedResponse, Assert.Throws<NatException>(() => NatPmpCodec.Parse(Hex(hex), opcode)).Error);
    }

    [Theory]
    [InlineData(1, NatPmpResultCode.UnsupportedVersion)]
    [InlineData(2, NatPmpResultCode.NotAuthorized)]
    [InlineData(3, NatPmpResultCode.NetworkFailure)]
    [InlineData(4, NatPmpResultCode.OutOfResources)]
    [InlineData(5, NatPmpResultCode.UnsupportedOpcode)]
    public void NatPmp_ErrorResultCodes_AreReturned_EvenInShortErrorPackets(ushort code, NatPmpResultCode expected)
    {
        var r = NatPmpCodec.Parse(Hex($"00 82 {code:x4} 00000010"), NatPmpCodec.OpMapTcp);
        Assert.Equal(expected, r.Result);
    }

    // ---- routing table and address classes ----

    [Fact]
    public void DefaultGateway_IsReadFromProcNetRoute()
    {
        const string table = """
            Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
            eth0	0000630A	00000000	0001	0	0	0	00FFFFFF	0	0	0
            wlan0	00000000	FE01A8C0	0003	0	0	600	00000000	0	0	0
            eth0	00000000	0100630A	0003	0	0	100	00000000	0	0	0
            eth1	00000000	00000000	0001	0	0	0	00000000	0	0	0
            """;
        Assert.Equal(IPAddress.Parse("10.99.0.1"), DefaultGateway.Parse(table));
        Assert.Null(DefaultGateway.Parse("Iface\tDestination\tGateway\n"));
        Assert.Null(DefaultGateway.Parse("garbage"));
        Assert.Null(DefaultGateway.Read("/nonexistent/route"));
    }

    [Theory]
    [InlineData("203.0.113.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.168.0.1", false)]
    [InlineData("198.51.100.7", false)]
    [InlineData("169.254.1.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("239.255.255.250", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("100.128.0.1", true)]
    public void AddressClass_KnowsPrivateAndReservedRanges(string address, bool isPublic)
    {
        Assert.Equal(isPublic, AddressClass.IsPublic(IPAddress.Parse(address)));
    }

    // ---- options and report ----

    [Fact]
    public void Options_DefaultsAreValid_AndBadValuesThrow()
    {
        new PortMapperOptions().Validate();
        new NatProbeOptions().Validate();
        Assert.Equal(TimeSpan.FromHours(1), new PortMapperOptions().Lease);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PortMapperOptions { RenewAt = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new PortMapperOptions { NatPmpMaxAttempts = 10 }.Validate());
        Assert.Throws<ArgumentException>(() => new PortMapperOptions { Protocols = [] }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new NatProbeOptions { TestPort = 70000 }.Validate());
    }

    [Fact]
    public void Report_RoundTripsThroughJson_AndRendersForHumans()
    {
        var report = new NatProbeReport
        {
            StartedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            ElapsedMs = 321.5,
            DiscoveryMs = 250,
            UpnpGateways = [new UpnpGatewayReport
            {
                Location = "http://10.99.0.1:5000/rootDesc.xml", From = "10.99.0.1", Server = "MiniUPnPd/2.3.1",
                ServiceType = "urn:schemas-upnp-org:service:WANIPConnection:2", ControlUrl = "http://10.99.0.1:5000/ctl/IPConn",
                ExternalAddress = "203.0.113.1", ExternalAddressIsPublic = false,
                TestMapping = new MappingTestReport { InternalPort = 50000, ExternalPort = 50000, Added = true, Removed = true, AddMs = 3, RemoveMs = 2 },
            }],
            NatPmp = new NatPmpReport { Gateway = "10.99.0.1", Answered = true, Error = "NAT-PMP map request failed: result 3 (NetworkFailure)" },
            Errors = ["SSDP reply from 10.99.0.9:1900: malformed"],
        };
        var json = report.ToJson();
        Assert.Contains("\"upnpGateways\"", json);
        Assert.Contains("\"gatewayFound\": true", json);
        var back = NatProbeReport.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(report.UpnpGateways[0], back.UpnpGateways[0]);
        var text = report.ToString();
        Assert.Contains("gateway found, port mapping works", text);
        Assert.Contains("203.0.113.1 (private/reserved: the gateway is itself behind NAT)", text);
        Assert.Contains("added in 3 ms, removed in 2 ms", text);
        Assert.Contains("NetworkFailure", text);
    }
}
