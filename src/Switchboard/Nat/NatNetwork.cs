using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Switchboard.Nat;

/// <summary>
/// The one seam through which the NAT code touches the host network: every socket is created by
/// <see cref="SocketFactory"/>, and the default gateway and local addresses come from here. Tests replace it to run
/// the clients inside a network namespace (a socket belongs to the namespace of the thread that created it).
/// </summary>
internal sealed record NatNetwork
{
    /// <summary>The production network: sockets in this process's namespace, gateway from /proc/net/route.</summary>
    public static NatNetwork Default { get; } = new();

    /// <summary>Creates every socket the NAT code uses.</summary>
    public Func<AddressFamily, SocketType, ProtocolType, Socket> SocketFactory { get; init; } =
        static (family, type, protocol) => new Socket(family, type, protocol);

    /// <summary>Returns the IPv4 default gateway, or null when there is none.</summary>
    public Func<IPAddress?> DefaultGatewayResolver { get; init; } = static () => DefaultGateway.Read("/proc/net/route");

    /// <summary>Local IPv4 addresses to send SSDP searches from, besides those the routing table picks.</summary>
    public Func<IReadOnlyList<IPAddress>> InterfaceAddresses { get; init; } = EnumerateInterfaceAddresses;

    /// <summary>Where M-SEARCH goes: 239.255.255.250:1900 (UPnP Device Architecture 1.1 §1.3.2); tests use loopback.</summary>
    public IPEndPoint SsdpEndpoint { get; init; } = new(IPAddress.Parse("239.255.255.250"), 1900);

    /// <summary>The NAT-PMP server port, 5351 (RFC 6886 §3.1); tests use a loopback port.</summary>
    public int NatPmpPort { get; init; } = 5351;

    internal Socket CreateUdp() => SocketFactory(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    internal Socket CreateTcp() => SocketFactory(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    /// <summary>
    /// The local address the routing table would use to reach <paramref name="destination"/>: a UDP connect sends
    /// nothing but makes the kernel pick the source address, in the namespace of the socket factory.
    /// </summary>
    internal IPAddress? SourceAddressFor(IPAddress destination, int port)
    {
        try
        {
            using var socket = CreateUdp();
            socket.Connect(new IPEndPoint(destination, port));
            return (socket.LocalEndPoint as IPEndPoint)?.Address is { } a && !a.Equals(IPAddress.Any) ? a : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    internal static IReadOnlyList<IPAddress> EnumerateInterfaceAddresses()
    {
        var result = new List<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback || !nic.SupportsMulticast)
                    continue;
                foreach (var ua in nic.GetIPProperties().UnicastAddresses)
                    if (ua.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(ua.Address))
                        result.Add(ua.Address);
            }
        }
        catch (NetworkInformationException)
        {
            // No interface list (sandbox, unusual platform): the routing-table source address is still tried.
        }
        return result;
    }
}

/// <summary>Reads the IPv4 default gateway from the Linux routing table.</summary>
internal static class DefaultGateway
{
    /// <summary>Reads and parses <paramref name="path"/> (normally /proc/net/route); null when absent or no default route.</summary>
    public static IPAddress? Read(string path)
    {
        try
        {
            return File.Exists(path) ? Parse(File.ReadAllText(path)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Parses the /proc/net/route table: the row with destination 00000000, mask 00000000 and the RTF_GATEWAY flag
    /// (0x2) set and up (0x1), lowest metric first. Addresses are little-endian hex, as the kernel prints them.
    /// </summary>
    public static IPAddress? Parse(string table)
    {
        IPAddress? best = null;
        var bestMetric = int.MaxValue;
        var lines = table.Split('\n');
        for (var i = 1; i < lines.Length; i++)
        {
            var f = lines[i].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8) continue;
            if (f[1] != "00000000" || f[7] != "00000000") continue;
            if (!uint.TryParse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var gw) || gw == 0) continue;
            if (!int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags) || (flags & 0x3) != 0x3) continue;
            if (!int.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var metric)) metric = int.MaxValue - 1;
            if (metric >= bestMetric) continue;
            // The kernel prints the __be32 in host (little-endian) order, so the bytes come out reversed.
            best = new IPAddress([(byte)gw, (byte)(gw >> 8), (byte)(gw >> 16), (byte)(gw >> 24)]);
            bestMetric = metric;
        }
        return best;
    }
}

/// <summary>Classifies IPv4 addresses a gateway reports as its external address.</summary>
internal static class AddressClass
{
    // The private and reserved IPv4 ranges (RFC 6890); miniupnpd 2.3.1 and miniupnpc ≥ 2.2.0 use the same idea to
    // decide that a gateway with such an external address is itself behind NAT.
    private static readonly (uint Net, int Bits)[] s_nonPublic =
    [
        (0x00000000, 8),   // 0.0.0.0/8 "this network"
        (0x0A000000, 8),   // 10/8 private
        (0x64400000, 10),  // 100.64/10 carrier-grade NAT
        (0x7F000000, 8),   // 127/8 loopback
        (0xA9FE0000, 16),  // 169.254/16 link local
        (0xAC100000, 12),  // 172.16/12 private
        (0xC0000000, 24),  // 192.0.0/24 IETF protocol assignments
        (0xC0000200, 24),  // 192.0.2/24 TEST-NET-1
        (0xC0A80000, 16),  // 192.168/16 private
        (0xC6120000, 15),  // 198.18/15 benchmarking
        (0xC6336400, 24),  // 198.51.100/24 TEST-NET-2
        (0xCB007100, 24),  // 203.0.113/24 TEST-NET-3
        (0xE0000000, 4),   // 224/4 multicast
        (0xF0000000, 4),   // 240/4 reserved and broadcast
    ];

    /// <summary>True when <paramref name="address"/> is a globally routable IPv4 unicast address.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork) return false;
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        var v = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        foreach (var (net, bits) in s_nonPublic)
            if ((v & (uint.MaxValue << (32 - bits))) == net) return false;
        return true;
    }
}
