using System.Net;
using Microsoft.Extensions.Logging;

namespace Switchboard.Nat;

/// <summary>A port-mapping protocol.</summary>
public enum NatProtocol
{
    /// <summary>NAT-PMP (RFC 6886), UDP to the default gateway's port 5351.</summary>
    NatPmp,
    /// <summary>UPnP Internet Gateway Device (SSDP discovery, SOAP over HTTP).</summary>
    Upnp,
}

/// <summary>Settings for <see cref="PortMapper"/>. An immutable record; every property has a documented default.</summary>
public sealed record PortMapperOptions
{
    /// <summary>Protocols to try, in order; the first that maps the port wins. Default: NAT-PMP (one UDP round trip), then UPnP.</summary>
    public IReadOnlyList<NatProtocol> Protocols { get; init; } = [NatProtocol.NatPmp, NatProtocol.Upnp];

    /// <summary>
    /// Requested lease. Default 1 hour: long enough that renewals are rare, short enough that a crashed node's
    /// mapping disappears. The mapping is renewed at <see cref="RenewAt"/> of the granted lease.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Fraction of the granted lease after which the mapping is renewed. Default 0.5 (RFC 6886 §3.3 recommends half).</summary>
    public double RenewAt { get; init; } = 0.5;

    /// <summary>Wait before retrying a failed renewal. Default 30 s (never beyond the lease's expiry).</summary>
    public TimeSpan RenewRetryInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest total wait for SSDP replies. Default 2 s (UPnP gateways answer within MX = 1 s).</summary>
    public TimeSpan DiscoveryTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Once a gateway replied, stop SSDP discovery after this long without a new reply. Default 250 ms.</summary>
    public TimeSpan DiscoverySettleTime { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Limit for each HTTP request (description fetch, SOAP call), connect to last byte. Default 3 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// NAT-PMP attempts; the first waits 250 ms and each later one twice as long (RFC 6886 §3.1). Default 4
    /// (3.75 s in all) instead of the RFC's 9 (about two minutes) so that start-up stays interactive.
    /// </summary>
    public int NatPmpMaxAttempts { get; init; } = 4;

    /// <summary>NAT-PMP gateway. Default null: the host's IPv4 default gateway (/proc/net/route on Linux).</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>Local IPv4 address to search from and map to. Default null: the one the routing table picks (and other interfaces' addresses for SSDP).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>
    /// Use a gateway whose external address is private or reserved (it is itself behind NAT, or on a documentation
    /// range as in a test lab). Default false: such a gateway fails with <see cref="NatError.GatewayBehindNat"/>.
    /// </summary>
    public bool AllowNonPublicExternalAddress { get; init; }

    /// <summary>UPnP: external ports tried when the preferred one is taken (718): the internal port first, then random ports in 49152–65535. Default 4.</summary>
    public int UpnpPortAttempts { get; init; } = 4;

    /// <summary>Text stored with a UPnP mapping (visible in the router's table). Default "Switchboard p2p".</summary>
    public string Description { get; init; } = "Switchboard p2p";

    /// <summary>Clock for lease expiry and renewal timers. Default <see cref="TimeProvider.System"/>. (Network timeouts use real time.)</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger factory. Default null: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The socket and routing seam; tests replace it to run inside a network namespace.</summary>
    internal NatNetwork Network { get; init; } = NatNetwork.Default;

    /// <summary>Throws <see cref="ArgumentException"/> for an inconsistent setting.</summary>
    public void Validate()
    {
        if (Protocols is null || Protocols.Count == 0) throw new ArgumentException("at least one protocol is required", nameof(Protocols));
        if (Lease < TimeSpan.FromSeconds(1) || Lease.TotalSeconds > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(Lease), Lease, "lease must be between 1 s and 2^31 s");
        if (RenewAt is <= 0 or >= 1 || double.IsNaN(RenewAt)) throw new ArgumentOutOfRangeException(nameof(RenewAt), RenewAt, "must be in (0, 1)");
        if (RenewRetryInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RenewRetryInterval));
        if (DiscoveryTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DiscoveryTimeout));
        if (DiscoverySettleTime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DiscoverySettleTime));
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout));
        if (NatPmpMaxAttempts is < 1 or > 9) throw new ArgumentOutOfRangeException(nameof(NatPmpMaxAttempts), NatPmpMaxAttempts, "RFC 6886 allows 1 to 9");
        if (UpnpPortAttempts < 1) throw new ArgumentOutOfRangeException(nameof(UpnpPortAttempts));
        ArgumentNullException.ThrowIfNull(Description);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
