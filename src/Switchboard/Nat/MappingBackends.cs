using System.Net;

namespace Switchboard.Nat;

/// <summary>One gateway that can map a TCP port, behind either protocol.</summary>
internal interface IMappingBackend
{
    NatProtocol Protocol { get; }

    /// <summary>Human-readable gateway identity: the NAT-PMP address or the UPnP LOCATION.</summary>
    string Gateway { get; }

    Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken);

    /// <summary>Maps; returns the external port and the lifetime (<see cref="TimeSpan.Zero"/> = permanent).</summary>
    Task<(int ExternalPort, TimeSpan Lifetime)> MapAsync(int internalPort, int preferredExternalPort, TimeSpan lease, CancellationToken cancellationToken);

    Task UnmapAsync(int internalPort, int externalPort, CancellationToken cancellationToken);
}

internal sealed class NatPmpBackend(NatPmpClient client) : IMappingBackend
{
    public NatProtocol Protocol => NatProtocol.NatPmp;

    public string Gateway => client.Gateway.ToString();

    public NatPmpClient Client => client;

    /// <summary>The configured gateway, else the default gateway; <see cref="NatError.NoGatewayFound"/> when there is none.</summary>
    public static NatPmpBackend Create(NatNetwork network, IPAddress? gateway, int maxAttempts)
    {
        var gw = gateway ?? network.DefaultGatewayResolver()
            ?? throw new NatException(NatError.NoGatewayFound, "NAT-PMP: no IPv4 default gateway");
        // 250 ms: RFC 6886 §3.1's initial retransmission interval.
        return new NatPmpBackend(new NatPmpClient(network, gw, maxAttempts, TimeSpan.FromMilliseconds(250)));
    }

    public Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken) => client.GetExternalAddressAsync(cancellationToken);

    public Task<(int ExternalPort, TimeSpan Lifetime)> MapAsync(int internalPort, int preferredExternalPort, TimeSpan lease, CancellationToken cancellationToken) =>
        client.MapAsync(tcp: true, internalPort, preferredExternalPort, lease, cancellationToken);

    public Task UnmapAsync(int internalPort, int externalPort, CancellationToken cancellationToken) =>
        client.UnmapAsync(tcp: true, internalPort, cancellationToken);
}

internal sealed class UpnpBackend(UpnpGateway gateway, UpnpIgdClient client, string description, int portAttempts) : IMappingBackend
{
    public NatProtocol Protocol => NatProtocol.Upnp;

    public string Gateway => gateway.Ssdp.Location.ToString();

    public UpnpIgdClient Client => client;

    /// <summary>SSDP discovery, then the first gateway whose description yields a WAN connection service.</summary>
    public static async Task<UpnpBackend> DiscoverAsync(NatNetwork network, IPAddress? localAddress, TimeSpan discoveryTimeout, TimeSpan settle,
        TimeSpan requestTimeout, string description, int portAttempts, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var replies = await SsdpDiscovery.DiscoverAsync(network, localAddress, discoveryTimeout, settle, errors, cancellationToken).ConfigureAwait(false);
        foreach (var reply in replies)
        {
            try
            {
                var gw = await UpnpIgdClient.DescribeAsync(network, reply, requestTimeout, cancellationToken).ConfigureAwait(false);
                return new UpnpBackend(gw, new UpnpIgdClient(network, gw.Service, requestTimeout), description, portAttempts);
            }
            catch (NatException ex)
            {
                errors.Add($"{reply.Location}: {ex.Message}");
            }
        }
        throw new NatException(NatError.NoGatewayFound,
            "UPnP: no usable Internet Gateway Device" + (errors.Count > 0 ? " (" + string.Join("; ", errors) + ")" : ""));
    }

    public Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken) => client.GetExternalIPAddressAsync(cancellationToken);

    public async Task<(int ExternalPort, TimeSpan Lifetime)> MapAsync(int internalPort, int preferredExternalPort, TimeSpan lease, CancellationToken cancellationToken)
    {
        var internalClient = client.LocalAddress ?? gateway.Ssdp.LocalAddress
            ?? throw new NatException(NatError.NetworkError, "UPnP: our LAN address towards the gateway is unknown");
        var port = preferredExternalPort;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var granted = await client.AddPortMappingAsync(port, "TCP", internalPort, internalClient, description,
                    (int)lease.TotalSeconds, cancellationToken).ConfigureAwait(false);
                return (port, TimeSpan.FromSeconds(granted));
            }
            catch (UpnpException ex) when (attempt < portAttempts && ex.ErrorCode is UpnpErrorCode.ConflictInMappingEntry or UpnpErrorCode.ConflictWithOtherMechanisms)
            {
                // Someone else holds this external port: 49152–65535 is the dynamic range (RFC 6335), least likely to be in use.
                port = Random.Shared.Next(49152, 65536);
            }
        }
    }

    public Task UnmapAsync(int internalPort, int externalPort, CancellationToken cancellationToken) =>
        client.DeletePortMappingAsync(externalPort, "TCP", cancellationToken);
}
