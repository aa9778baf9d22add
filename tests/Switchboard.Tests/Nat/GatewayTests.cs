using System.Diagnostics;
using System.Net;
using Switchboard.Nat;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Nat;

/// <summary>Against the real miniupnpd 2.3.1 (IGDv2) in network namespaces; the client runs in sb-lan.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayTests(IgdV2Fixture igd, ITestOutputHelper output) : IClassFixture<IgdV2Fixture>
{
    private static int s_port = 30000 + (Environment.ProcessId % 1000) * 10;

    private static int NextPort() => Interlocked.Increment(ref s_port);

    private PortMapperOptions MapperOptions(NatProtocol protocol, TimeProvider? time = null) => new()
    {
        Protocols = [protocol],
        AllowNonPublicExternalAddress = true, // 203.0.113.1 is TEST-NET-3 (see TestData/upnp/README.md)
        TimeProvider = time ?? TimeProvider.System,
        Network = igd.LanNetwork,
    };

    private UpnpIgdClient ControlClient() =>
        new(igd.LanNetwork, new IgdService(igd.Env["IGD_SERVICE_TYPE"], null, new Uri(igd.Env["IGD_CONTROL_URL"]), null), TimeSpan.FromSeconds(3));

    [GatewayFact]
    public async Task Ssdp_FindsTheIgd_AndTheDescriptionYieldsItsControlUrl()
    {
        output.WriteLine($"igd.sh up took {igd.UpTime.TotalMilliseconds:0} ms");
        var errors = new List<string>();
        var sw = Stopwatch.StartNew();
        var replies = await SsdpDiscovery.DiscoverAsync(igd.LanNetwork, null, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(250), errors);
        output.WriteLine($"SSDP discovery: {sw.Elapsed.TotalMilliseconds:0} ms, {replies.Count} reply(ies); {string.Join("; ", errors)}");
        var reply = Assert.Single(replies);
        Assert.Equal(igd.Env["IGD_ROOTDESC_URL"], reply.Location.ToString());
        Assert.Equal(igd.GatewayIp, reply.From!.Address);
        Assert.Equal(igd.LanIp, reply.LocalAddress);
        Assert.Contains("MiniUPnPd/2.3.1", reply.Server);

        sw.Restart();
        var gateway = await UpnpIgdClient.DescribeAsync(igd.LanNetwork, reply, TimeSpan.FromSeconds(3));
        output.WriteLine($"description: {sw.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(igd.Env["IGD_DEVICE_TYPE"], gateway.Description.RootDeviceType);
        Assert.Equal("urn:schemas-upnp-org:service:WANIPConnection:2", gateway.Service.ServiceType);
        Assert.Equal(igd.Env["IGD_CONTROL_URL"], gateway.Service.ControlUrl.ToString());

        var client = new UpnpIgdClient(igd.LanNetwork, gateway.Service, TimeSpan.FromSeconds(3));
        Assert.Equal(igd.WanIp, await client.GetExternalIPAddressAsync());
        Assert.Equal(igd.LanIp, client.LocalAddress);
    }

    [GatewayFact]
    public async Task Upnp_PortMapper_MapsForwardsRenewsAndRemoves()
    {
        var port = NextPort();
        await using var listener = igd.Listen(port);
        var time = new ManualTimeProvider();
        var events = new List<PortMappingChangedEventArgs>();
        var sw = Stopwatch.StartNew();
        var mapper = await PortMapper.StartAsync(port, MapperOptions(NatProtocol.Upnp, time));
        output.WriteLine($"UPnP PortMapper.StartAsync (discovery + map): {sw.Elapsed.TotalMilliseconds:0} ms");
        mapper.MappingChanged += (_, e) => { lock (events) events.Add(e); };
        try
        {
            Assert.Equal(NatProtocol.Upnp, mapper.Protocol);
            Assert.Equal(new IPEndPoint(igd.WanIp, port), mapper.ExternalEndpoint);
            Assert.False(mapper.ExternalAddressIsPublic);
            Assert.Equal(time.GetUtcNow() + TimeSpan.FromHours(1), mapper.LeaseExpiresAt);

            var entry = await ControlClient().GetSpecificPortMappingEntryAsync(port, "TCP");
            Assert.Equal((port, igd.LanIp.ToString(), true, "Switchboard p2p"), (entry.InternalPort, entry.InternalClient, entry.Enabled, entry.Description));
            Assert.InRange(entry.LeaseSeconds, 3000, 3600);

            Assert.True(await igd.ForwardsAsync(port), "the mapping must forward from the WAN side");
            Assert.Equal(1, listener.Accepted);

            // Half the lease later the renewal runs (ManualTimeProvider fires the timer); the mapping stays and forwards.
            time.Advance(TimeSpan.FromMinutes(30));
            await Eventually.TrueAsync(() => mapper.Renewals == 1, "UPnP renewal at half the lease");
            lock (events) Assert.Equal(PortMappingEvent.Renewed, Assert.Single(events).Kind);
            Assert.Equal(time.GetUtcNow() + TimeSpan.FromHours(1), mapper.LeaseExpiresAt);
            Assert.Equal(port, (await ControlClient().GetSpecificPortMappingEntryAsync(port, "TCP")).InternalPort);
            Assert.True(await igd.ForwardsAsync(port));
        }
        finally
        {
            sw.Restart();
            await mapper.DisposeAsync();
            output.WriteLine($"UPnP unmap on dispose: {sw.Elapsed.TotalMilliseconds:0} ms");
        }
        var gone = await Assert.ThrowsAsync<UpnpException>(() => ControlClient().GetSpecificPortMappingEntryAsync(port, "TCP"));
        Assert.Equal(UpnpErrorCode.NoSuchEntryInArray, gone.ErrorCode);
        Assert.False(await igd.ForwardsAsync(port), "after dispose the port must no longer forward");
    }

    [GatewayFact]
    public async Task Upnp_DefaultOptions_RefuseAGatewayWithAReservedExternalAddress()
    {
        var ex = await Assert.ThrowsAsync<NatException>(() =>
            PortMapper.StartAsync(NextPort(), new PortMapperOptions { Protocols = [NatProtocol.Upnp], Network = igd.LanNetwork }));
        Assert.Equal(NatError.GatewayBehindNat, ex.Error);
        Assert.Contains("203.0.113.1", ex.Message);
    }

    [GatewayFact]
    public async Task Upnp_PolicyFaults_AreTyped()
    {
        var client = ControlClient();
        // Port 80 is outside the allowed 1024-65535: 606 Action not authorized.
        var denied = await Assert.ThrowsAsync<UpnpException>(() =>
            client.AddPortMappingAsync(80, "TCP", 80, igd.LanIp, "t", 60));
        Assert.Equal(UpnpErrorCode.ActionNotAuthorized, denied.ErrorCode);
        // secure_mode: a mapping for another LAN host is refused with 718 ConflictInMappingEntry.
        var port = NextPort();
        var conflict = await Assert.ThrowsAsync<UpnpException>(() =>
            client.AddPortMappingAsync(port, "TCP", port, IPAddress.Parse("10.99.0.3"), "t", 60));
        Assert.Equal(UpnpErrorCode.ConflictInMappingEntry, conflict.ErrorCode);
        Assert.Equal(718, conflict.Code);
        // No such mapping: 714. (miniupnpd 2.3.1's nftables backend answers DeletePortMapping of a missing entry
        // with success, so the query is what shows it.)
        var missing = await Assert.ThrowsAsync<UpnpException>(() => client.GetSpecificPortMappingEntryAsync(port, "TCP"));
        Assert.Equal(UpnpErrorCode.NoSuchEntryInArray, missing.ErrorCode);
        Assert.Equal("GetSpecificPortMappingEntry", missing.Action);
    }

    [GatewayFact]
    public async Task NatPmp_PortMapper_UsesTheDefaultGateway_MapsForwardsRenewsAndRemoves()
    {
        var port = NextPort();
        await using var listener = igd.Listen(port);
        var time = new ManualTimeProvider();
        var sw = Stopwatch.StartNew();
        var mapper = await PortMapper.StartAsync(port, MapperOptions(NatProtocol.NatPmp, time) with { Lease = TimeSpan.FromMinutes(10) });
        output.WriteLine($"NAT-PMP PortMapper.StartAsync (external address + map): {sw.Elapsed.TotalMilliseconds:0} ms");
        try
        {
            Assert.Equal(NatProtocol.NatPmp, mapper.Protocol);
            Assert.Equal(igd.GatewayIp.ToString(), mapper.Gateway); // from sb-lan's routing table
            Assert.Equal(new IPEndPoint(igd.WanIp, port), mapper.ExternalEndpoint);
            Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(10), mapper.LeaseExpiresAt);
            // miniupnpd shows NAT-PMP mappings over UPnP too.
            Assert.StartsWith("NAT-PMP", (await ControlClient().GetSpecificPortMappingEntryAsync(port, "TCP")).Description);
            Assert.True(await igd.ForwardsAsync(port));

            time.Advance(TimeSpan.FromMinutes(5));
            await Eventually.TrueAsync(() => mapper.Renewals == 1, "NAT-PMP renewal at half the lease");
            Assert.Null(mapper.LastError);
            Assert.True(await igd.ForwardsAsync(port));
        }
        finally
        {
            await mapper.DisposeAsync();
        }
        Assert.False(await igd.ForwardsAsync(port), "lifetime 0 must delete the NAT-PMP mapping");
    }

    [GatewayFact]
    public async Task Probe_ReportsBothProtocols_AndATestMapping()
    {
        var sw = Stopwatch.StartNew();
        var report = await NatProbe.RunAsync(new NatProbeOptions { Network = igd.LanNetwork });
        output.WriteLine($"NatProbe.RunAsync: {sw.Elapsed.TotalMilliseconds:0} ms\n{report}\n{report.ToJson()}");
        Assert.True(report.GatewayFound);
        Assert.True(report.MappingPossible);
        var g = Assert.Single(report.UpnpGateways);
        Assert.Equal(igd.Env["IGD_ROOTDESC_URL"], g.Location);
        Assert.Equal(igd.Env["IGD_CONTROL_URL"], g.ControlUrl);
        Assert.Equal("203.0.113.1", g.ExternalAddress);
        Assert.False(g.ExternalAddressIsPublic);
        Assert.True(g.TestMapping is { Added: true, Removed: true, Error: null });
        Assert.NotNull(report.NatPmp);
        Assert.True(report.NatPmp.Answered);
        Assert.Equal("10.99.0.1", report.NatPmp.Gateway);
        Assert.Equal("203.0.113.1", report.NatPmp.ExternalAddress);
        Assert.True(report.NatPmp.TestMapping is { Added: true, Removed: true, Error: null });
        Assert.Contains("gateway found", report.ToString());
        var back = NatProbeReport.FromJson(report.ToJson());
        Assert.Equal(report.ToJson(), back.ToJson());
    }
}

/// <summary>The same gateway advertising IGDv1 (<c>IGD_FORCE_V1=1</c>).</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayV1Tests(IgdV1Fixture igd, ITestOutputHelper output) : IClassFixture<IgdV1Fixture>
{
    [GatewayFact]
    public async Task IgdV1_IsFoundAndMapsThroughWanIpConnection1()
    {
        var port = 31000 + Environment.ProcessId % 1000;
        await using var listener = igd.Listen(port);
        var sw = Stopwatch.StartNew();
        await using (var mapper = await PortMapper.StartAsync(port, new PortMapperOptions
        {
            Protocols = [NatProtocol.Upnp],
            AllowNonPublicExternalAddress = true,
            Network = igd.LanNetwork,
        }))
        {
            output.WriteLine($"IGDv1 discovery + map: {sw.Elapsed.TotalMilliseconds:0} ms");
            Assert.EndsWith("/rootDesc.xml", mapper.Gateway);
            Assert.Equal(new IPEndPoint(igd.WanIp, port), mapper.ExternalEndpoint);
            Assert.True(await igd.ForwardsAsync(port));
        }
        Assert.False(await igd.ForwardsAsync(port));

        var report = await NatProbe.RunAsync(new NatProbeOptions { Network = igd.LanNetwork, Protocols = [NatProtocol.Upnp] });
        var g = Assert.Single(report.UpnpGateways);
        Assert.Equal("urn:schemas-upnp-org:device:InternetGatewayDevice:1", g.DeviceType);
        Assert.Equal("urn:schemas-upnp-org:service:WANIPConnection:1", g.ServiceType);
        Assert.Null(report.NatPmp);
    }
}

/// <summary>The gateway that cannot forward (<c>IGD_STUN=0</c>): every failure must be the right typed error.</summary>
[Collection(GatewayCollection.Name)]
public sealed class BrokenGatewayTests(IgdNoStunFixture igd, ITestOutputHelper output) : IClassFixture<IgdNoStunFixture>
{
    [GatewayFact]
    public async Task WithoutStun_TheFailuresAreTyped()
    {
        var errors = new List<string>();
        var reply = Assert.Single(await SsdpDiscovery.DiscoverAsync(igd.LanNetwork, null, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(250), errors));
        var gateway = await UpnpIgdClient.DescribeAsync(igd.LanNetwork, reply, TimeSpan.FromSeconds(3));
        var client = new UpnpIgdClient(igd.LanNetwork, gateway.Service, TimeSpan.FromSeconds(3));

        var empty = await Assert.ThrowsAsync<NatException>(() => client.GetExternalIPAddressAsync());
        Assert.Equal(NatError.NoExternalAddress, empty.Error);
        var failed = await Assert.ThrowsAsync<UpnpException>(() => client.AddPortMappingAsync(32000, "TCP", 32000, igd.LanIp, "t", 60));
        Assert.Equal(UpnpErrorCode.ActionFailed, failed.ErrorCode);

        var pmp = new NatPmpClient(igd.LanNetwork, igd.GatewayIp, 3, TimeSpan.FromMilliseconds(250));
        var network = await Assert.ThrowsAsync<NatPmpException>(() => pmp.GetExternalAddressAsync());
        Assert.Equal(NatPmpResultCode.NetworkFailure, network.Result);
        Assert.Equal(NatError.NatPmpFailure, network.Error);

        var mapper = await Assert.ThrowsAsync<NatException>(() => PortMapper.StartAsync(32001, new PortMapperOptions
        {
            AllowNonPublicExternalAddress = true,
            Network = igd.LanNetwork,
        }));
        Assert.Equal(NatError.NoExternalAddress, mapper.Error);
        Assert.Contains("NAT-PMP", mapper.Message);

        var report = await NatProbe.RunAsync(new NatProbeOptions { Network = igd.LanNetwork });
        output.WriteLine(report.ToString());
        Assert.True(report.GatewayFound);
        Assert.False(report.MappingPossible);
        var g = Assert.Single(report.UpnpGateways);
        Assert.Null(g.ExternalAddress);
        Assert.Contains("501", g.TestMapping!.Error);
        Assert.True(report.NatPmp!.Answered);
        Assert.Contains("NetworkFailure", report.NatPmp.Error);
    }
}

/// <summary>No gateway at all: a namespace this test creates with one veth pair (nothing answers on it) and a default route.</summary>
[Collection(GatewayCollection.Name)]
public sealed class NoGatewayTests(ITestOutputHelper output)
{
    [NetnsFact]
    public async Task Probe_AndPortMapper_FinishWithinSeconds_AndReportNoGateway()
    {
        var ns = $"sb-empty-{Environment.ProcessId}";
        Shell.Ip("netns", "add", ns);
        try
        {
            Shell.Ip("-n", ns, "link", "set", "lo", "up");
            Shell.Ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
            Shell.Ip("-n", ns, "addr", "add", "10.98.0.2/24", "dev", "v0");
            Shell.Ip("-n", ns, "link", "set", "v0", "up");
            Shell.Ip("-n", ns, "link", "set", "v1", "up");
            Shell.Ip("-n", ns, "route", "add", "default", "via", "10.98.0.1");
            using var thread = new NetnsThread(ns);
            var network = thread.Network();

            var sw = Stopwatch.StartNew();
            // The contract is "finishes within a few seconds": 2 s discovery and 1.75 s NAT-PMP run concurrently.
            var report = await Eventually.WithinAsync(NatProbe.RunAsync(new NatProbeOptions { Network = network }), "probe without gateway", TimeSpan.FromSeconds(10));
            output.WriteLine($"NatProbe.RunAsync without gateway: {sw.Elapsed.TotalMilliseconds:0} ms\n{report}");
            Assert.False(report.GatewayFound);
            Assert.Empty(report.UpnpGateways);
            Assert.Equal("10.98.0.1", report.NatPmp!.Gateway);
            Assert.False(report.NatPmp.Answered);
            Assert.Contains("no gateway found", report.Errors);
            Assert.Contains("no gateway found", report.ToString());

            sw.Restart();
            var ex = await Assert.ThrowsAsync<NatException>(() => PortMapper.StartAsync(26656, new PortMapperOptions
            {
                Network = network,
                NatPmpMaxAttempts = 2,
                DiscoveryTimeout = TimeSpan.FromSeconds(1),
            }));
            output.WriteLine($"PortMapper.StartAsync without gateway: {sw.Elapsed.TotalMilliseconds:0} ms: {ex.Message}");
            Assert.Equal(NatError.NoGatewayFound, ex.Error);
        }
        finally
        {
            Shell.Run("ip", ["netns", "delete", ns], timeoutMs: 10_000);
        }
    }
}
