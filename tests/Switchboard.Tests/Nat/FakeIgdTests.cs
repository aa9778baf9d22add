using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchboard.Nat;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Nat;

/// <summary>
/// A scripted UPnP IGD on 127.0.0.1: a UDP socket that answers M-SEARCH (the discovery target is pointed at it
/// instead of the multicast group) and an HTTP server for the description and the control URL.
/// </summary>
internal sealed class FakeIgd : IAsyncDisposable
{
    private readonly Socket _ssdp = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly TcpListener _http = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly List<(string Action, string Body)> _calls = [];

    public FakeIgd()
    {
        _ssdp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _http.Start();
        ControlPath = "/ctl/IPConn";
        SsdpReplies = () => [Reply(Location)];
        Description = DefaultDescription;
        lock (_loops)
        {
            _loops.Add(SsdpLoopAsync());
            _loops.Add(HttpLoopAsync());
        }
    }

    public int HttpPort => ((IPEndPoint)_http.LocalEndpoint).Port;

    public string Location => $"http://127.0.0.1:{HttpPort}/rootDesc.xml";

    public string ControlPath { get; set; }

    /// <summary>The SSDP replies sent for each M-SEARCH.</summary>
    public Func<string[]> SsdpReplies { get; set; }

    public Func<string> Description { get; set; }

    /// <summary>SOAP handler: (action, request body) → (HTTP status, body); null = never answer.</summary>
    public Func<string, string, (int Status, string Body)?> Soap { get; set; } = (_, _) => (500, "");

    public bool Chunked { get; set; }

    public (string Action, string Body)[] Calls { get { lock (_calls) return [.. _calls]; } }

    public NatNetwork Network => new()
    {
        SsdpEndpoint = (IPEndPoint)_ssdp.LocalEndPoint!,
        InterfaceAddresses = () => [],
        DefaultGatewayResolver = () => null,
    };

    private string DefaultDescription() => $"""
            <?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
            <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><deviceList><device>
            <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType><serviceList><service>
            <serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>{ControlPath}</controlURL>
            </service></serviceList></device></deviceList></device></deviceList></device></root>
            """;

    public static string Reply(string location) =>
        $"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: {location}\r\nSERVER: fake/1.0\r\n\r\n";

    public static string Ok(string action, string args = "") =>
        $"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:{action}Response xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">{args}</u:{action}Response></s:Body></s:Envelope>";

    public static (int, string) Fault(int code) => (500,
        $"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{code}</errorCode><errorDescription>e{code}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>");

    private async Task SsdpLoopAsync()
    {
        var buffer = new byte[2048];
        while (true)
        {
            SocketReceiveFromResult r;
            try { r = await _ssdp.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            if (!Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes).StartsWith("M-SEARCH * HTTP/1.1", StringComparison.Ordinal)) continue;
            foreach (var reply in SsdpReplies())
                await _ssdp.SendToAsync(Encoding.ASCII.GetBytes(reply), r.RemoteEndPoint);
        }
    }

    private async Task HttpLoopAsync()
    {
        while (true)
        {
            TcpClient client;
            try { client = await _http.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            lock (_loops) _loops.Add(ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = new StringBuilder();
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
                {
                    var b = new byte[1];
                    if (await stream.ReadAsync(b, _stop.Token) == 0) return;
                    head.Append((char)b[0]);
                }
                var lines = head.ToString().Split("\r\n");
                var length = lines.Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)).Select(l => int.Parse(l[15..].Trim())).FirstOrDefault();
                var body = new byte[length];
                await stream.ReadExactlyAsync(body, _stop.Token);
                (int Status, string Body)? response;
                if (lines[0].StartsWith("GET ", StringComparison.Ordinal)) response = (200, Description());
                else
                {
                    var action = lines.First(l => l.StartsWith("SOAPAction:", StringComparison.Ordinal)).Split('#')[1].TrimEnd('"');
                    var text = Encoding.UTF8.GetString(body);
                    lock (_calls) _calls.Add((action, text));
                    response = Soap(action, text);
                }
                if (response is not { } r)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token); // a gateway that accepts and never answers
                    return;
                }
                var payload = Encoding.UTF8.GetBytes(r.Body);
                var framing = Chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {payload.Length}";
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {r.Status} X\r\nContent-Type: text/xml\r\n{framing}\r\n\r\n"), _stop.Token);
                if (Chunked)
                {
                    for (var i = 0; i < payload.Length; i += 7)
                    {
                        var n = Math.Min(7, payload.Length - i);
                        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{n:x}\r\n"), _stop.Token);
                        await stream.WriteAsync(payload.AsMemory(i, n), _stop.Token);
                        await stream.WriteAsync("\r\n"u8.ToArray(), _stop.Token);
                    }
                    await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), _stop.Token);
                }
                else await stream.WriteAsync(payload, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _ssdp.Dispose();
        _http.Stop();
        Task[] loops;
        lock (_loops) loops = [.. _loops];
        await Task.WhenAll(loops);
        _stop.Dispose();
    }
}

/// <summary>The UPnP path end to end against a scripted IGD on loopback: retries, refusals and timeouts.</summary>
public class FakeIgdTests
{
    private static PortMapperOptions Options(FakeIgd igd, TimeProvider? time = null) => new()
    {
        Protocols = [NatProtocol.Upnp],
        DiscoveryTimeout = TimeSpan.FromSeconds(2),
        RequestTimeout = TimeSpan.FromSeconds(2),
        TimeProvider = time ?? TimeProvider.System,
        Network = igd.Network,
    };

    private static (int, string)? Answer(string action, string body) => action switch
    {
        "GetExternalIPAddress" => (200, FakeIgd.Ok(action, "<NewExternalIPAddress>1.2.3.4</NewExternalIPAddress>")),
        _ => (200, FakeIgd.Ok(action)),
    };

    [Fact]
    public async Task Discovery_DedupsByLocation_AndSkipsGarbageReplies()
    {
        await using var igd = new FakeIgd();
        igd.SsdpReplies = () => [FakeIgd.Reply(igd.Location), FakeIgd.Reply(igd.Location), "garbage", FakeIgd.Reply($"http://127.0.0.1:{igd.HttpPort}/other.xml")];
        var errors = new List<string>();
        var replies = await SsdpDiscovery.DiscoverAsync(igd.Network, null, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(200), errors);
        Assert.Equal(2, replies.Count);
        Assert.Single(replies, r => r.Location.ToString() == igd.Location);
        Assert.Contains(errors, e => e.Contains("not an SSDP search response"));
    }

    [Fact]
    public async Task Mapper_RetriesWithPermanentLease_On725()
    {
        await using var igd = new FakeIgd();
        igd.Chunked = true;
        igd.Soap = (action, body) => action == "AddPortMapping" && body.Contains("<NewLeaseDuration>3600<") ? FakeIgd.Fault(725) : Answer(action, body);
        var time = new ManualTimeProvider();
        await using (var mapper = await PortMapper.StartAsync(26656, Options(igd, time) with { AllowNonPublicExternalAddress = false }))
        {
            Assert.Equal("1.2.3.4:26656", mapper.ExternalEndpoint.ToString());
            Assert.Null(mapper.LeaseExpiresAt); // permanent: nothing to renew
            Assert.Contains("<NewInternalClient>127.0.0.1</NewInternalClient>", igd.Calls.Last().Body);
            Assert.Contains("<NewLeaseDuration>0</NewLeaseDuration>", igd.Calls.Last().Body);
            time.Advance(TimeSpan.FromHours(10));
            Assert.Equal(0, mapper.Renewals);
        }
        Assert.Equal(["GetExternalIPAddress", "AddPortMapping", "AddPortMapping", "DeletePortMapping"], igd.Calls.Select(c => c.Action));
    }

    [Fact]
    public async Task Mapper_TriesAnotherExternalPort_On718()
    {
        await using var igd = new FakeIgd();
        igd.Soap = (action, body) => action == "AddPortMapping" && body.Contains("<NewExternalPort>26656<") ? FakeIgd.Fault(718) : Answer(action, body);
        await using var mapper = await PortMapper.StartAsync(26656, Options(igd));
        Assert.InRange(mapper.ExternalEndpoint.Port, 49152, 65535);
        Assert.Contains("<NewInternalPort>26656</NewInternalPort>", igd.Calls.Last().Body);
    }

    [Fact]
    public async Task Mapper_GivesUpAfterUpnpPortAttempts_WithTheFault()
    {
        await using var igd = new FakeIgd();
        igd.Soap = (action, body) => action == "AddPortMapping" ? FakeIgd.Fault(718) : Answer(action, body);
        var ex = await Assert.ThrowsAsync<NatException>(() => PortMapper.StartAsync(26656, Options(igd) with { UpnpPortAttempts = 3 }));
        Assert.Equal(NatError.UpnpFault, ex.Error);
        Assert.Equal(3, igd.Calls.Count(c => c.Action == "AddPortMapping"));
    }

    [Fact]
    public async Task Describe_RefusesLocationsAndControlUrlsOnOtherHosts()
    {
        await using var igd = new FakeIgd();
        var network = igd.Network;
        var elsewhere = new SsdpResponse(new Uri(igd.Location), "st", null, null) { From = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 1900) };
        Assert.Equal(NatError.UnsupportedGateway, (await Assert.ThrowsAsync<NatException>(() => UpnpIgdClient.DescribeAsync(network, elsewhere, TimeSpan.FromSeconds(2)))).Error);

        igd.ControlPath = "http://10.0.0.9:80/ctl";
        var ex = await Assert.ThrowsAsync<NatException>(() => PortMapper.StartAsync(26656, Options(igd)));
        Assert.Equal(NatError.NoGatewayFound, ex.Error);
        Assert.Contains("not on the described host", ex.Message);
        Assert.Empty(igd.Calls);
    }

    [Fact]
    public async Task Soap_AGatewayThatNeverAnswers_IsATimeout()
    {
        await using var igd = new FakeIgd();
        igd.Soap = (_, _) => null;
        var client = new UpnpIgdClient(igd.Network, new IgdService("urn:schemas-upnp-org:service:WANIPConnection:1", null, new Uri($"http://127.0.0.1:{igd.HttpPort}/ctl/IPConn"), null), TimeSpan.FromMilliseconds(300));
        var ex = await Eventually.WithinAsync(Assert.ThrowsAsync<NatException>(() => client.GetExternalIPAddressAsync()), "bounded SOAP call");
        Assert.Equal(NatError.Timeout, ex.Error);
    }

    [Fact]
    public async Task Soap_NonFaultHttpError_IsHttpError()
    {
        await using var igd = new FakeIgd();
        igd.Soap = (_, _) => (404, "<html>not found</html>");
        var client = new UpnpIgdClient(igd.Network, new IgdService("urn:schemas-upnp-org:service:WANIPConnection:1", null, new Uri($"http://127.0.0.1:{igd.HttpPort}/ctl/IPConn"), null), TimeSpan.FromSeconds(2));
        Assert.Equal(NatError.HttpError, (await Assert.ThrowsAsync<NatException>(() => client.GetExternalIPAddressAsync())).Error);
    }

    [Fact]
    public async Task Probe_OverLoopback_ReportsTheGatewayAndTheMapping()
    {
        await using var igd = new FakeIgd();
        igd.Soap = Answer;
        var report = await NatProbe.RunAsync(new NatProbeOptions { Network = igd.Network, TestPort = 50123 });
        var g = Assert.Single(report.UpnpGateways);
        Assert.Equal(("fake/1.0", "1.2.3.4", true), (g.Server, g.ExternalAddress, g.ExternalAddressIsPublic));
        Assert.True(g.TestMapping is { Added: true, Removed: true, ExternalPort: 50123 });
        Assert.Equal("NAT-PMP: no IPv4 default gateway", report.NatPmp!.Error);
        Assert.True(report.GatewayFound);
    }
}
