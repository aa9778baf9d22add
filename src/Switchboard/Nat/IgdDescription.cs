using System.Xml;

namespace Switchboard.Nat;

/// <summary>One &lt;service&gt; of a device description, with its URLs resolved against URLBase or LOCATION.</summary>
internal sealed record IgdService(string ServiceType, string? DeviceType, Uri ControlUrl, string? ScpdUrl);

/// <summary>The parts of a UPnP device description (UDA 1.1 §2.3) an IGD client needs.</summary>
internal sealed record IgdDescription(string? RootDeviceType, IReadOnlyList<IgdService> Services)
{
    private const string WanIp = "urn:schemas-upnp-org:service:WANIPConnection:";
    private const string WanPpp = "urn:schemas-upnp-org:service:WANPPPConnection:";

    /// <summary>
    /// The connection service to use: WANIPConnection (highest version first, :2 then :1), else WANPPPConnection:1;
    /// null when the device has neither.
    /// </summary>
    public IgdService? WanConnection =>
        Services.Where(s => s.ServiceType.StartsWith(WanIp, StringComparison.Ordinal))
                .OrderByDescending(s => VersionOf(s.ServiceType)).FirstOrDefault()
        ?? Services.FirstOrDefault(s => s.ServiceType.StartsWith(WanPpp, StringComparison.Ordinal));

    private static int VersionOf(string serviceType) =>
        int.TryParse(serviceType.AsSpan(serviceType.LastIndexOf(':') + 1), out var v) ? v : 0;

    /// <summary>
    /// Parses a description. <paramref name="location"/> (the SSDP LOCATION) is the base for relative URLs unless
    /// the document has a URLBase. Throws <see cref="NatException"/> for oversize, malformed or unsafe XML.
    /// </summary>
    public static IgdDescription Parse(byte[] document, Uri location) =>
        SafeXml.Guard("device description", () => ParseCore(document, location));

    private static IgdDescription ParseCore(byte[] document, Uri location)
    {
        using var reader = SafeXml.Create(document, "device description");
        string? urlBase = null, rootDeviceType = null;
        var deviceTypes = new List<string?>();
        var raw = new List<(string Type, string? Device, string? Control, string? Scpd)>();
        (string? Type, string? Control, string? Scpd)? current = null;
        var sawRoot = false;
        var ok = SafeXml.Read(reader);
        while (ok)
        {
            if (reader.NodeType == XmlNodeType.Element)
            {
                var name = reader.LocalName;
                if (!sawRoot)
                {
                    if (name != "root") throw new NatException(NatError.MalformedResponse, $"device description root element is <{name}>, not <root>");
                    sawRoot = true;
                }
                else if (name == "URLBase" && reader.Depth == 1)
                {
                    urlBase = SafeXml.ReadLeaf(reader);
                    ok = !reader.EOF;
                    SafeXml.CheckDepth(reader);
                    continue;
                }
                else if (name == "device" && !reader.IsEmptyElement)
                {
                    deviceTypes.Add(null);
                }
                else if (name == "deviceType" && deviceTypes.Count > 0)
                {
                    var type = SafeXml.ReadLeaf(reader);
                    deviceTypes[^1] = type;
                    if (deviceTypes.Count == 1) rootDeviceType ??= type;
                    continue;
                }
                else if (name == "service" && !reader.IsEmptyElement)
                {
                    current = (null, null, null);
                }
                else if (current is { } c && name is "serviceType" or "controlURL" or "SCPDURL")
                {
                    var value = SafeXml.ReadLeaf(reader);
                    current = name switch
                    {
                        "serviceType" => c with { Type = value },
                        "controlURL" => c with { Control = value },
                        _ => c with { Scpd = value },
                    };
                    continue;
                }
                // 256 services: a real IGD has fewer than 10; a document listing thousands is hostile.
                if (raw.Count > 256) throw new NatException(NatError.MalformedResponse, "device description lists too many services");
            }
            else if (reader.NodeType == XmlNodeType.EndElement)
            {
                if (reader.LocalName == "service" && current is { } c)
                {
                    if (!string.IsNullOrEmpty(c.Type)) raw.Add((c.Type, deviceTypes.Count > 0 ? deviceTypes[^1] : null, c.Control, c.Scpd));
                    current = null;
                }
                else if (reader.LocalName == "device" && deviceTypes.Count > 0)
                {
                    deviceTypes.RemoveAt(deviceTypes.Count - 1);
                }
            }
            ok = SafeXml.Read(reader);
        }
        if (!sawRoot) throw new NatException(NatError.MalformedResponse, "empty device description");

        var baseUri = location;
        if (!string.IsNullOrEmpty(urlBase) && Uri.TryCreate(urlBase, UriKind.Absolute, out var b) && b.Scheme == Uri.UriSchemeHttp)
            baseUri = b;
        var services = new List<IgdService>();
        foreach (var (type, device, control, scpd) in raw)
        {
            // A service without a usable control URL cannot be called; keep the others.
            if (string.IsNullOrEmpty(control) || !Uri.TryCreate(baseUri, control, out var controlUri) || controlUri.Scheme != Uri.UriSchemeHttp)
                continue;
            services.Add(new IgdService(type, device, controlUri, scpd));
        }
        return new IgdDescription(rootDeviceType, services);
    }
}
