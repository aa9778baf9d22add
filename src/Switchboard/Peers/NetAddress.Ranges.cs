using System.Net.Sockets;

namespace Switchboard.Peers;

// The address classes of CometBFT's p2p/netaddress.go (taken from btcd's addrmgr). An IPv4 range only ever
// matches an IPv4 address and an IPv6 range only an IPv6 one: Go's IPNet.Contains turns an IPv4-mapped address
// into IPv4 first, and this type stores mapped addresses as IPv4 already.
public sealed partial record NetAddress
{
    /// <summary>True for an IPv4 address (Go's <c>IP.To4() != nil</c>, mapped addresses included).</summary>
    internal bool IsIPv4 => _ip.AddressFamily == AddressFamily.InterNetwork;

    /// <summary>0.0.0.0 or ::.</summary>
    internal bool IsUnspecified => IsIPv4 ? InV4(0x00000000, 32) : InV6([], 128);

    /// <summary>127.0.0.0/8 or ::1.</summary>
    internal bool IsLoopback => IsIPv4 ? InV4(0x7F000000, 8) : InV6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128);

    /// <summary>255.255.255.255 (Go's <c>net.IPv4bcast</c>).</summary>
    internal bool IsBroadcast => InV4(0xFFFFFFFF, 32);

    /// <summary>0.0.0.0/8 ("this network"), counted as local.</summary>
    internal bool IsZero4 => InV4(0x00000000, 8);

    /// <summary>RFC 1918 private IPv4: 10/8, 172.16/12, 192.168/16.</summary>
    internal bool IsRfc1918 => InV4(0x0A000000, 8) || InV4(0xAC100000, 12) || InV4(0xC0A80000, 16);

    /// <summary>RFC 3849 IPv6 documentation prefix 2001:db8::/32.</summary>
    internal bool IsRfc3849 => InV6([0x20, 0x01, 0x0D, 0xB8], 32);

    /// <summary>RFC 3927 IPv4 link-local 169.254/16.</summary>
    internal bool IsRfc3927 => InV4(0xA9FE0000, 16);

    /// <summary>RFC 3964 6to4 2002::/16.</summary>
    internal bool IsRfc3964 => InV6([0x20, 0x02], 16);

    /// <summary>RFC 4193 IPv6 unique local fc00::/7.</summary>
    internal bool IsRfc4193 => InV6([0xFC], 7);

    /// <summary>RFC 4380 Teredo 2001::/32.</summary>
    internal bool IsRfc4380 => InV6([0x20, 0x01, 0x00, 0x00], 32);

    /// <summary>RFC 4843 ORCHID 2001:10::/28.</summary>
    internal bool IsRfc4843 => InV6([0x20, 0x01, 0x00, 0x10], 28);

    /// <summary>RFC 4862 IPv6 link-local fe80::/64.</summary>
    internal bool IsRfc4862 => InV6([0xFE, 0x80, 0, 0, 0, 0, 0, 0], 64);

    /// <summary>RFC 6052 IPv4-embedded IPv6 (NAT64 well-known prefix) 64:ff9b::/96.</summary>
    internal bool IsRfc6052 => InV6([0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0], 96);

    /// <summary>RFC 6145 IPv4-translated IPv6 (SIIT) ::ffff:0:0:0/96.</summary>
    internal bool IsRfc6145 => InV6([0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0], 96);

    /// <summary>OnionCat (Tor addresses in IPv6) fd87:d87e:eb43::/48.</summary>
    internal bool IsOnionCatTor => InV6([0xFD, 0x87, 0xD8, 0x7E, 0xEB, 0x43], 48);

    private bool InV4(uint network, int prefixLength)
    {
        if (!IsIPv4) return false;
        Span<byte> b = stackalloc byte[4];
        _ip.TryWriteBytes(b, out _);
        var value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return (value & mask) == network;
    }

    // prefix holds the leading bytes of the network; bytes not given are zero.
    private bool InV6(ReadOnlySpan<byte> prefix, int prefixLength)
    {
        if (IsIPv4) return false;
        Span<byte> b = stackalloc byte[16];
        _ip.TryWriteBytes(b, out _);
        for (var bit = 0; bit < prefixLength; bit += 8)
        {
            var i = bit / 8;
            var network = i < prefix.Length ? prefix[i] : (byte)0;
            var mask = prefixLength - bit >= 8 ? (byte)0xFF : (byte)(0xFF << (8 - (prefixLength - bit)));
            if ((b[i] & mask) != network) return false;
        }
        return true;
    }
}
