using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Nat;

/// <summary>The result of <see cref="NatProbe.RunAsync"/>: what answered, what it said, and how long it took.</summary>
/// <remarks>Serializable with System.Text.Json (<see cref="ToJson"/> / <see cref="FromJson"/>); addresses are strings, times are milliseconds.</remarks>
internal sealed record NatProbeReport
{
    /// <summary>When the probe started (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Total duration in milliseconds.</summary>
    public double ElapsedMs { get; init; }

    /// <summary>Duration of the SSDP search in milliseconds (0 when UPnP was not probed).</summary>
    public double DiscoveryMs { get; init; }

    /// <summary>Every gateway that answered the SSDP search, one per distinct LOCATION.</summary>
    public IReadOnlyList<UpnpGatewayReport> UpnpGateways { get; init; } = [];

    /// <summary>The NAT-PMP probe; null when NAT-PMP was not probed.</summary>
    public NatPmpReport? NatPmp { get; init; }

    /// <summary>Problems that belong to no single gateway (no route for SSDP, no default gateway, bad SSDP replies).</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>True when a UPnP IGD or a NAT-PMP gateway answered.</summary>
    public bool GatewayFound => UpnpGateways.Count > 0 || NatPmp?.Answered == true;

    /// <summary>True when some gateway added (and so could forward) a test mapping.</summary>
    public bool MappingPossible => UpnpGateways.Any(g => g.TestMapping?.Added == true) || NatPmp?.TestMapping?.Added == true;

    /// <summary>The report as indented JSON (camelCase names, nulls omitted).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, NatJsonContext.Default.NatProbeReport);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static NatProbeReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, NatJsonContext.Default.NatProbeReport) ?? throw new JsonException("null report");

    /// <summary>A human-readable multi-line summary (what <c>switchboard nat probe</c> prints).</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"NAT probe: {(GatewayFound ? "gateway found" : "no gateway found")}{(MappingPossible ? ", port mapping works" : "")} ({ElapsedMs:0} ms)");
        sb.AppendLine(c, $"UPnP IGD: {UpnpGateways.Count} gateway(s) answered SSDP in {DiscoveryMs:0} ms");
        foreach (var g in UpnpGateways)
        {
            sb.AppendLine(c, $"  {g.Location}{(g.From is null ? "" : $" from {g.From}")}{(g.Server is null ? "" : $" (server \"{g.Server}\")")}");
            if (g.DeviceType is not null) sb.AppendLine(c, $"    device   {g.DeviceType}");
            if (g.ServiceType is not null) sb.AppendLine(c, $"    service  {g.ServiceType} at {g.ControlUrl}");
            AppendAddress(sb, g.ExternalAddress, g.ExternalAddressIsPublic);
            AppendMapping(sb, g.TestMapping);
            if (g.Error is not null) sb.AppendLine(c, $"    error    {g.Error}");
        }
        if (NatPmp is { } p)
        {
            sb.AppendLine(c, $"NAT-PMP: gateway {p.Gateway ?? "(none)"} {(p.Answered ? "answered" : "did not answer")} ({p.ElapsedMs:0} ms)");
            AppendAddress(sb, p.ExternalAddress, p.ExternalAddressIsPublic);
            AppendMapping(sb, p.TestMapping);
            if (p.Error is not null) sb.AppendLine(c, $"    error    {p.Error}");
        }
        foreach (var e in Errors) sb.AppendLine(c, $"note: {e}");
        return sb.ToString();

        static void AppendAddress(StringBuilder sb, string? address, bool? isPublic)
        {
            if (address is null) return;
            sb.Append("    external ").Append(address);
            sb.AppendLine(isPublic == false ? " (private/reserved: the gateway is itself behind NAT)" : " (public)");
        }

        static void AppendMapping(StringBuilder sb, MappingTestReport? m)
        {
            if (m is null) return;
            sb.Append(CultureInfo.InvariantCulture, $"    mapping  TCP {m.InternalPort}");
            if (m.Added) sb.Append(CultureInfo.InvariantCulture, $" -> external {m.ExternalPort}: added in {m.AddMs:0} ms");
            else sb.Append(": not added");
            if (m.Added && m.Removed) sb.Append(CultureInfo.InvariantCulture, $", removed in {m.RemoveMs:0} ms");
            else if (m.Added) sb.Append(", NOT removed");
            if (m.Error is not null) sb.Append(" (").Append(m.Error).Append(')');
            sb.AppendLine();
        }
    }
}

/// <summary>One UPnP gateway found by the probe.</summary>
internal sealed record UpnpGatewayReport
{
    /// <summary>The SSDP LOCATION (description URL).</summary>
    public string Location { get; init; } = "";

    /// <summary>The address the SSDP reply came from.</summary>
    public string? From { get; init; }

    /// <summary>Our address the search was sent from.</summary>
    public string? LocalAddress { get; init; }

    /// <summary>The SSDP SERVER header.</summary>
    public string? Server { get; init; }

    /// <summary>The SSDP ST (search target) the gateway answered.</summary>
    public string? SearchTarget { get; init; }

    /// <summary>The root device type from the description.</summary>
    public string? DeviceType { get; init; }

    /// <summary>The WAN connection service type used (WANIPConnection:2/:1 or WANPPPConnection:1).</summary>
    public string? ServiceType { get; init; }

    /// <summary>The resolved control URL.</summary>
    public string? ControlUrl { get; init; }

    /// <summary>GetExternalIPAddress's answer.</summary>
    public string? ExternalAddress { get; init; }

    /// <summary>Whether that address is public (false: the gateway is itself behind NAT or on a reserved range).</summary>
    public bool? ExternalAddressIsPublic { get; init; }

    /// <summary>The test mapping, when one was tried.</summary>
    public MappingTestReport? TestMapping { get; init; }

    /// <summary>Time to fetch and parse the description, in milliseconds.</summary>
    public double DescribeMs { get; init; }

    /// <summary>The first error with this gateway, as text.</summary>
    public string? Error { get; init; }
}

/// <summary>The NAT-PMP part of the probe.</summary>
internal sealed record NatPmpReport
{
    /// <summary>The gateway asked (configured or the default gateway); null when there is no default gateway.</summary>
    public string? Gateway { get; init; }

    /// <summary>Whether it answered at all (a non-zero result code counts as an answer).</summary>
    public bool Answered { get; init; }

    /// <summary>The external address it reported.</summary>
    public string? ExternalAddress { get; init; }

    /// <summary>Whether that address is public.</summary>
    public bool? ExternalAddressIsPublic { get; init; }

    /// <summary>The test mapping, when one was tried.</summary>
    public MappingTestReport? TestMapping { get; init; }

    /// <summary>Time of the NAT-PMP part in milliseconds.</summary>
    public double ElapsedMs { get; init; }

    /// <summary>The first error, as text.</summary>
    public string? Error { get; init; }
}

/// <summary>A test mapping added and removed by the probe.</summary>
internal sealed record MappingTestReport
{
    /// <summary>The internal TCP port mapped (nothing needs to listen on it).</summary>
    public int InternalPort { get; init; }

    /// <summary>The external port the gateway gave.</summary>
    public int? ExternalPort { get; init; }

    /// <summary>Whether the mapping was added.</summary>
    public bool Added { get; init; }

    /// <summary>Whether it was removed again.</summary>
    public bool Removed { get; init; }

    /// <summary>Time to add, in milliseconds.</summary>
    public double AddMs { get; init; }

    /// <summary>Time to remove, in milliseconds.</summary>
    public double RemoveMs { get; init; }

    /// <summary>Why adding or removing failed, as text.</summary>
    public string? Error { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NatProbeReport))]
internal sealed partial class NatJsonContext : JsonSerializerContext;
