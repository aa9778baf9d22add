using System.Diagnostics;
using System.Net;

namespace Switchboard.Nat;

/// <summary>Settings for <see cref="NatProbe.RunAsync"/>.</summary>
internal sealed record NatProbeOptions
{
    /// <summary>Protocols to probe (concurrently). Default both.</summary>
    public IReadOnlyList<NatProtocol> Protocols { get; init; } = [NatProtocol.NatPmp, NatProtocol.Upnp];

    /// <summary>Longest SSDP wait. Default 2 s.</summary>
    public TimeSpan DiscoveryTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After the first SSDP reply, stop once no new gateway answered for this long. Default 500 ms (a probe wants every gateway).</summary>
    public TimeSpan DiscoverySettleTime { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Limit per HTTP request. Default 2 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>NAT-PMP attempts (250, 500, 1000 ms …). Default 3: 1.75 s without an answer.</summary>
    public int NatPmpMaxAttempts { get; init; } = 3;

    /// <summary>NAT-PMP gateway. Default null: the IPv4 default gateway.</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>Local address to search from. Default null: chosen by the routing table (plus other interfaces for SSDP).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>Whether to add and remove a test mapping on each gateway. Default true.</summary>
    public bool TestMapping { get; init; } = true;

    /// <summary>Port of the test mapping (internal = preferred external). Default null: a random port in 49152–65535.</summary>
    public int? TestPort { get; init; }

    /// <summary>Lease of the test mapping, so that it disappears even if removing it fails. Default 120 s.</summary>
    public TimeSpan TestLease { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The socket and routing seam.</summary>
    internal NatNetwork Network { get; init; } = NatNetwork.Default;

    /// <summary>Throws <see cref="ArgumentException"/> for an inconsistent setting.</summary>
    public void Validate()
    {
        if (Protocols is null || Protocols.Count == 0) throw new ArgumentException("at least one protocol is required", nameof(Protocols));
        if (DiscoveryTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DiscoveryTimeout));
        if (DiscoverySettleTime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DiscoverySettleTime));
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout));
        if (NatPmpMaxAttempts is < 1 or > 9) throw new ArgumentOutOfRangeException(nameof(NatPmpMaxAttempts));
        if (TestPort is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(TestPort));
        if (TestLease < TimeSpan.FromSeconds(1)) throw new ArgumentOutOfRangeException(nameof(TestLease));
    }
}

/// <summary>Diagnoses the NAT situation: which gateways answer, what they report, whether a mapping can be made.</summary>
internal static class NatProbe
{
    /// <summary>16: more UPnP gateways than this on one LAN is hostile; the rest are not described.</summary>
    private const int MaxGateways = 16;

    /// <summary>
    /// Probes NAT-PMP and UPnP concurrently. Never throws for network or gateway problems (they are in the report);
    /// only cancellation and invalid options throw. Without any gateway it finishes within about
    /// max(<see cref="NatProbeOptions.DiscoveryTimeout"/>, the NAT-PMP retransmissions), 2 s by default.
    /// </summary>
    public static async Task<NatProbeReport> RunAsync(NatProbeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NatProbeOptions();
        options.Validate();
        var started = DateTimeOffset.UtcNow;
        var total = Stopwatch.StartNew();
        var port = options.TestPort ?? Random.Shared.Next(49152, 65536);
        var protocols = options.Protocols.Distinct().ToList();
        var pmp = protocols.Contains(NatProtocol.NatPmp) ? ProbeNatPmpAsync(options, port, cancellationToken) : Task.FromResult<NatPmpReport?>(null);
        var upnp = protocols.Contains(NatProtocol.Upnp)
            ? ProbeUpnpAsync(options, port, cancellationToken)
            : Task.FromResult<(IReadOnlyList<UpnpGatewayReport>, double, List<string>)>(([], 0, []));
        await Task.WhenAll(pmp, upnp).ConfigureAwait(false);
        var (gateways, discoveryMs, errors) = await upnp.ConfigureAwait(false);
        var natPmp = await pmp.ConfigureAwait(false);
        if (gateways.Count == 0 && natPmp?.Answered != true) errors.Add("no gateway found");
        return new NatProbeReport
        {
            StartedAt = started,
            ElapsedMs = total.Elapsed.TotalMilliseconds,
            DiscoveryMs = discoveryMs,
            UpnpGateways = gateways,
            NatPmp = natPmp,
            Errors = errors,
        };
    }

    private static async Task<NatPmpReport?> ProbeNatPmpAsync(NatProbeOptions options, int port, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        NatPmpBackend backend;
        try
        {
            backend = NatPmpBackend.Create(options.Network, options.Gateway, options.NatPmpMaxAttempts);
        }
        catch (NatException ex)
        {
            return new NatPmpReport { Error = ex.Message, ElapsedMs = sw.Elapsed.TotalMilliseconds };
        }
        var report = new NatPmpReport { Gateway = backend.Gateway };
        try
        {
            var address = await backend.GetExternalAddressAsync(ct).ConfigureAwait(false);
            report = report with { Answered = true, ExternalAddress = address.ToString(), ExternalAddressIsPublic = AddressClass.IsPublic(address) };
            if (options.TestMapping)
                report = report with { TestMapping = await TestMappingAsync(backend, port, options.TestLease, ct).ConfigureAwait(false) };
        }
        catch (NatException ex)
        {
            // A result code is an answer; a timeout or an ICMP refusal is not.
            report = report with { Answered = report.Answered || ex is NatPmpException, Error = ex.Message };
        }
        return report with { ElapsedMs = sw.Elapsed.TotalMilliseconds };
    }

    private static async Task<(IReadOnlyList<UpnpGatewayReport>, double, List<string>)> ProbeUpnpAsync(NatProbeOptions options, int port, CancellationToken ct)
    {
        var errors = new List<string>();
        var sw = Stopwatch.StartNew();
        var replies = await SsdpDiscovery.DiscoverAsync(options.Network, options.LocalAddress, options.DiscoveryTimeout,
            options.DiscoverySettleTime, errors, ct).ConfigureAwait(false);
        var discoveryMs = sw.Elapsed.TotalMilliseconds;
        var tasks = replies.Take(MaxGateways).Select(r => ProbeGatewayAsync(options, r, port, ct)).ToList();
        var reports = await Task.WhenAll(tasks).ConfigureAwait(false);
        return (reports, discoveryMs, errors);
    }

    private static async Task<UpnpGatewayReport> ProbeGatewayAsync(NatProbeOptions options, SsdpResponse reply, int port, CancellationToken ct)
    {
        var report = new UpnpGatewayReport
        {
            Location = reply.Location.ToString(),
            From = reply.From?.Address.ToString(),
            LocalAddress = reply.LocalAddress?.ToString(),
            Server = reply.Server,
            SearchTarget = reply.SearchTarget,
        };
        var sw = Stopwatch.StartNew();
        UpnpBackend backend;
        try
        {
            var gateway = await UpnpIgdClient.DescribeAsync(options.Network, reply, options.RequestTimeout, ct).ConfigureAwait(false);
            report = report with
            {
                DescribeMs = sw.Elapsed.TotalMilliseconds,
                DeviceType = gateway.Description.RootDeviceType,
                ServiceType = gateway.Service.ServiceType,
                ControlUrl = gateway.Service.ControlUrl.ToString(),
            };
            backend = new UpnpBackend(gateway, new UpnpIgdClient(options.Network, gateway.Service, options.RequestTimeout), "Switchboard NAT probe", 1);
        }
        catch (NatException ex)
        {
            return report with { Error = ex.Message, DescribeMs = sw.Elapsed.TotalMilliseconds };
        }
        try
        {
            var address = await backend.GetExternalAddressAsync(ct).ConfigureAwait(false);
            report = report with { ExternalAddress = address.ToString(), ExternalAddressIsPublic = AddressClass.IsPublic(address) };
        }
        catch (NatException ex)
        {
            report = report with { Error = ex.Message };
        }
        // Tried even when GetExternalIPAddress failed: the mapping error (e.g. 501) is part of the diagnosis.
        if (options.TestMapping)
            report = report with { TestMapping = await TestMappingAsync(backend, port, options.TestLease, ct).ConfigureAwait(false) };
        return report;
    }

    private static async Task<MappingTestReport> TestMappingAsync(IMappingBackend backend, int port, TimeSpan lease, CancellationToken ct)
    {
        var result = new MappingTestReport { InternalPort = port };
        var sw = Stopwatch.StartNew();
        int external;
        try
        {
            (external, _) = await backend.MapAsync(port, port, lease, ct).ConfigureAwait(false);
            result = result with { Added = true, ExternalPort = external, AddMs = sw.Elapsed.TotalMilliseconds };
        }
        catch (NatException ex)
        {
            return result with { Error = ex.Message, AddMs = sw.Elapsed.TotalMilliseconds };
        }
        sw.Restart();
        try
        {
            await backend.UnmapAsync(port, external, ct).ConfigureAwait(false);
            return result with { Removed = true, RemoveMs = sw.Elapsed.TotalMilliseconds };
        }
        catch (NatException ex)
        {
            return result with { Error = ex.Message, RemoveMs = sw.Elapsed.TotalMilliseconds };
        }
    }
}
