using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Switchboard.Peers;

namespace Switchboard.Pex;

// Bucket placement (PROTOCOL.md 7.2). The hash need not match Go's HighwayHash: Go keys it with random bytes at
// every start, so placement is never reproducible across processes and stored indices are simply reloaded.
// Ours is HMAC-SHA256 keyed with 32 random bytes per book, truncated to its first 8 bytes read big-endian.
public sealed partial class AddrBook
{
    // Longest input: the 24-char key (64 allowed from a file) + an id@[ipv6]:port string (~90) or two groups.
    private const int MaxHashInput = 256;

    /// <summary>new bucket = H(key ‖ group(src) ‖ be8(H(key ‖ group(addr) ‖ group(src)) mod 32)) mod 256.</summary>
    internal int CalcNewBucket(NetAddress address, NetAddress source)
    {
        var addrGroup = GroupKey(address, Options.Strict);
        var srcGroup = GroupKey(source, Options.Strict);
        var h = Hash64(_key, addrGroup, srcGroup, null) % NewBucketsPerGroup;
        return (int)(Hash64(_key, srcGroup, null, h) % NewBucketCount);
    }

    /// <summary>old bucket = H(key ‖ group(addr) ‖ be8(H(key ‖ addr.String()) mod 4)) mod 64.</summary>
    internal int CalcOldBucket(NetAddress address)
    {
        var h = Hash64(_key, address.ToString(), null, null) % OldBucketsPerGroup;
        return (int)(Hash64(_key, GroupKey(address, Options.Strict), null, h) % OldBucketCount);
    }

    private ulong Hash64(string a, string b, string? c, ulong? tail)
    {
        Span<byte> input = stackalloc byte[MaxHashInput];
        var n = Encoding.ASCII.GetBytes(a, input);
        n += Encoding.ASCII.GetBytes(b, input[n..]);
        if (c is not null) n += Encoding.ASCII.GetBytes(c, input[n..]);
        if (tail is { } t)
        {
            BinaryPrimitives.WriteUInt64BigEndian(input[n..], t);
            n += 8;
        }
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_hashKey, input[..n], mac);
        return BinaryPrimitives.ReadUInt64BigEndian(mac);
    }

    /// <summary>
    /// CometBFT's groupKeyFor: in strict mode "local" / "unroutable"; IPv4 → its /16; IPv4 embedded in IPv6
    /// (RFC 6145, RFC 6052, 6to4 RFC 3964, Teredo RFC 4380 with the XOR) → the /16 of that IPv4; OnionCat →
    /// "tor:N" from the low nibble of byte 6; other IPv6 → /32, or /36 inside Hurricane Electric's 2001:470::/32.
    /// </summary>
    internal static string GroupKey(NetAddress address, bool strict)
    {
        if (strict && address.IsLocal) return "local";
        if (strict && !address.IsRoutable) return "unroutable";
        Span<byte> ip = stackalloc byte[16];
        address.Ip.TryWriteBytes(ip, out var length);
        if (address.Ip.AddressFamily == AddressFamily.InterNetwork) return Slash16(ip[..4]);
        if (length != 16) return "unroutable";
        if (address.IsRfc6145 || address.IsRfc6052) return Slash16(ip[12..16]);
        if (address.IsRfc3964) return Slash16(ip[2..6]);
        if (address.IsRfc4380)
        {
            Span<byte> v4 = stackalloc byte[4];
            for (var i = 0; i < 4; i++) v4[i] = (byte)(ip[12 + i] ^ 0xFF);
            return Slash16(v4);
        }
        if (address.IsOnionCatTor) return "tor:" + (ip[6] & 0x0F).ToString(CultureInfo.InvariantCulture);
        // 2001:470::/32 is Hurricane Electric's tunnel broker: one /32 for a huge number of unrelated users.
        var bits = ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x04 && ip[3] == 0x70 ? 36 : 32;
        var masked = new byte[16];
        ip[..(bits / 8)].CopyTo(masked);
        if (bits % 8 != 0) masked[bits / 8] = (byte)(ip[bits / 8] & (0xFF << (8 - bits % 8)));
        return NetAddressText.FormatIp(new IPAddress(masked));
    }

    private static string Slash16(ReadOnlySpan<byte> v4) =>
        string.Create(CultureInfo.InvariantCulture, $"{v4[0]}.{v4[1]}.0.0");
}
