using System.Globalization;
using System.Net;

namespace Switchboard.Nat;

/// <summary>A found IGD: the SSDP reply, its description, and the connection service to control.</summary>
internal sealed record UpnpGateway(SsdpResponse Ssdp, IgdDescription Description, IgdService Service);

/// <summary>One row of GetSpecificPortMappingEntry.</summary>
internal sealed record UpnpMappingEntry(int InternalPort, string InternalClient, bool Enabled, string Description, int LeaseSeconds);

/// <summary>SOAP calls on a WANIPConnection / WANPPPConnection service (IGD WANIPConnection:2 §2.4).</summary>
internal sealed class UpnpIgdClient(NatNetwork network, IgdService service, TimeSpan timeout)
{
    /// <summary>64 KiB: bound for descriptions and SOAP responses (a SOAP answer is under 1 KiB).</summary>
    public const int MaxBodyBytes = SafeXml.MaxDocumentBytes;

    public IgdService Service => service;

    /// <summary>Our address on the gateway's LAN, as seen on the last control connection.</summary>
    public IPAddress? LocalAddress { get; private set; }

    /// <summary>
    /// Fetches and parses the description at the SSDP LOCATION. The LOCATION must point at the host that sent the
    /// SSDP reply and the control URL at the same host: a LAN device must not be able to make us send requests to a
    /// third party.
    /// </summary>
    public static async Task<UpnpGateway> DescribeAsync(NatNetwork network, SsdpResponse ssdp, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var locationEndpoint = MiniHttp.EndpointOf(ssdp.Location);
        if (ssdp.From is { } from && !from.Address.Equals(locationEndpoint.Address))
            throw new NatException(NatError.UnsupportedGateway, $"SSDP reply from {from.Address} points at another host ({ssdp.Location})");
        var response = await MiniHttp.SendAsync(network, "GET", ssdp.Location, [], null, MaxBodyBytes, timeout, cancellationToken).ConfigureAwait(false);
        if (response.Status != 200)
            throw new NatException(NatError.HttpError, $"GET {ssdp.Location}: HTTP {response.Status} {response.Reason}");
        var description = IgdDescription.Parse(response.Body, ssdp.Location);
        var wan = description.WanConnection
            ?? throw new NatException(NatError.UnsupportedGateway, $"{ssdp.Location} has no WANIPConnection or WANPPPConnection service");
        if (!MiniHttp.EndpointOf(wan.ControlUrl).Address.Equals(locationEndpoint.Address))
            throw new NatException(NatError.UnsupportedGateway, $"control URL {wan.ControlUrl} is not on the described host {locationEndpoint.Address}");
        return new UpnpGateway(ssdp with { LocalAddress = ssdp.LocalAddress ?? response.LocalEndPoint?.Address }, description, wan);
    }

    /// <summary>Invokes an action; returns the output arguments or throws <see cref="UpnpException"/> for a SOAP fault.</summary>
    public async Task<IReadOnlyDictionary<string, string>> InvokeAsync(string action, IReadOnlyList<KeyValuePair<string, string>> arguments, CancellationToken cancellationToken = default)
    {
        var body = Soap.BuildRequest(service.ServiceType, action, arguments);
        KeyValuePair<string, string>[] headers =
        [
            new("Content-Type", "text/xml; charset=\"utf-8\""),
            new("SOAPAction", $"\"{service.ServiceType}#{action}\""),
        ];
        var response = await MiniHttp.SendAsync(network, "POST", service.ControlUrl, headers, body, MaxBodyBytes, timeout, cancellationToken).ConfigureAwait(false);
        LocalAddress = response.LocalEndPoint?.Address ?? LocalAddress;
        if (response.Status == 200) return Soap.ParseResponse(action, response.Body);
        try
        {
            // UDA 1.1 §3.2.2: a fault comes with HTTP 500; parsing it throws the UpnpException.
            Soap.ParseResponse(action, response.Body);
        }
        catch (UpnpException)
        {
            throw;
        }
        catch (NatException)
        {
            // Not a SOAP fault: report the HTTP status below.
        }
        throw new NatException(NatError.HttpError, $"UPnP {action}: HTTP {response.Status} {response.Reason}");
    }

    /// <summary>GetExternalIPAddress; an empty or unparsable answer (gateway not connected) is <see cref="NatError.NoExternalAddress"/>.</summary>
    public async Task<IPAddress> GetExternalIPAddressAsync(CancellationToken cancellationToken = default)
    {
        var result = await InvokeAsync("GetExternalIPAddress", [], cancellationToken).ConfigureAwait(false);
        var text = result.GetValueOrDefault("NewExternalIPAddress", "");
        if (text.Length == 0)
            throw new NatException(NatError.NoExternalAddress, "the IGD reports an empty external address (not connected upstream)");
        if (!IPAddress.TryParse(text, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || ip.Equals(IPAddress.Any))
            throw new NatException(NatError.NoExternalAddress, $"the IGD reports an unusable external address '{MiniHttp.Truncate(text)}'");
        return ip;
    }

    /// <summary>
    /// AddPortMapping. A gateway that answers 725 OnlyPermanentLeasesSupported is asked again with lease 0.
    /// Returns the lease in seconds that was requested successfully (0 = permanent).
    /// </summary>
    public async Task<int> AddPortMappingAsync(int externalPort, string protocol, int internalPort, IPAddress internalClient, string description,
        int leaseSeconds, CancellationToken cancellationToken = default)
    {
        try
        {
            await InvokeAsync("AddPortMapping", AddArgs(leaseSeconds), cancellationToken).ConfigureAwait(false);
            return leaseSeconds;
        }
        catch (UpnpException ex) when (ex.ErrorCode == UpnpErrorCode.OnlyPermanentLeasesSupported && leaseSeconds != 0)
        {
            await InvokeAsync("AddPortMapping", AddArgs(0), cancellationToken).ConfigureAwait(false);
            return 0;
        }

        KeyValuePair<string, string>[] AddArgs(int lease) =>
        [
            new("NewRemoteHost", ""),
            new("NewExternalPort", externalPort.ToString(CultureInfo.InvariantCulture)),
            new("NewProtocol", protocol),
            new("NewInternalPort", internalPort.ToString(CultureInfo.InvariantCulture)),
            new("NewInternalClient", internalClient.ToString()),
            new("NewEnabled", "1"),
            new("NewPortMappingDescription", description),
            new("NewLeaseDuration", lease.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>GetSpecificPortMappingEntry; 714 NoSuchEntryInArray when there is no such mapping.</summary>
    public async Task<UpnpMappingEntry> GetSpecificPortMappingEntryAsync(int externalPort, string protocol, CancellationToken cancellationToken = default)
    {
        var r = await InvokeAsync("GetSpecificPortMappingEntry", KeyArgs(externalPort, protocol), cancellationToken).ConfigureAwait(false);
        return new UpnpMappingEntry(
            int.TryParse(r.GetValueOrDefault("NewInternalPort"), NumberStyles.None, CultureInfo.InvariantCulture, out var ip) ? ip : 0,
            r.GetValueOrDefault("NewInternalClient", ""),
            r.GetValueOrDefault("NewEnabled") is "1" or "true",
            r.GetValueOrDefault("NewPortMappingDescription", ""),
            int.TryParse(r.GetValueOrDefault("NewLeaseDuration"), NumberStyles.None, CultureInfo.InvariantCulture, out var lease) ? lease : 0);
    }

    /// <summary>DeletePortMapping.</summary>
    public Task DeletePortMappingAsync(int externalPort, string protocol, CancellationToken cancellationToken = default) =>
        InvokeAsync("DeletePortMapping", KeyArgs(externalPort, protocol), cancellationToken);

    private static KeyValuePair<string, string>[] KeyArgs(int externalPort, string protocol) =>
    [
        new("NewRemoteHost", ""),
        new("NewExternalPort", externalPort.ToString(CultureInfo.InvariantCulture)),
        new("NewProtocol", protocol),
    ];
}
