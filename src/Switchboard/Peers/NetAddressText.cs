using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Peers;

/// <summary>
/// The textual rules of CometBFT addresses, written to accept and print exactly what Go's <c>net</c> package does
/// (<c>net.ParseIP</c>, <c>net.IP.String</c>, <c>net.SplitHostPort</c>, <c>net.JoinHostPort</c>,
/// <c>strconv.ParseUint(s, 10, 16)</c>). <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> is not used for
/// peer input because it is far more lenient than Go ("127.1", "0x7f.0.0.1", "1", zones, brackets, leading zeros),
/// and <see cref="IPAddress.ToString"/> prints some IPv6 addresses with an embedded dotted quad where Go does not.
/// </summary>
internal static class NetAddressText
{
    /// <summary>Removes a leading <c>scheme://</c> the way CometBFT's <c>removeProtocolIfDefined</c> does: the
    /// text between the first and the second <c>://</c> is kept (so anything after a second one is dropped).</summary>
    public static string StripScheme(string text)
    {
        var first = text.IndexOf("://", StringComparison.Ordinal);
        if (first < 0) return text;
        var rest = text[(first + 3)..];
        var second = rest.IndexOf("://", StringComparison.Ordinal);
        return second < 0 ? rest : rest[..second];
    }

    /// <summary>Go's <c>net.SplitHostPort</c>: the port is after the last colon; a host with colons needs brackets.</summary>
    public static bool TrySplitHostPort(string hostPort, [NotNullWhen(true)] out string? host,
        [NotNullWhen(true)] out string? port, [NotNullWhen(false)] out string? error)
    {
        host = port = null;
        var lastColon = hostPort.LastIndexOf(':');
        if (lastColon < 0)
        {
            error = "missing port in address";
            return false;
        }
        int noOpenFrom = 0, noCloseFrom = 0;
        if (hostPort[0] == '[')
        {
            var close = hostPort.IndexOf(']');
            if (close < 0)
            {
                error = "missing ']' in address";
                return false;
            }
            if (close + 1 != lastColon)
            {
                // ']' at the end, ']' not followed by ':', or followed by a colon that is not the last one.
                error = close + 1 < hostPort.Length && hostPort[close + 1] == ':' ? "too many colons in address" : "missing port in address";
                return false;
            }
            host = hostPort[1..close];
            noOpenFrom = 1;
            noCloseFrom = close + 1;
        }
        else
        {
            host = hostPort[..lastColon];
            if (host.Contains(':'))
            {
                host = null;
                error = "too many colons in address";
                return false;
            }
        }
        if (hostPort.AsSpan(noOpenFrom).Contains('['))
        {
            host = null;
            error = "unexpected '[' in address";
            return false;
        }
        if (hostPort.AsSpan(noCloseFrom).Contains(']'))
        {
            host = null;
            error = "unexpected ']' in address";
            return false;
        }
        port = hostPort[(lastColon + 1)..];
        error = null;
        return true;
    }

    /// <summary>Go's <c>net.JoinHostPort</c>: brackets around a host that contains a colon.</summary>
    public static string JoinHostPort(string host, ushort port) =>
        host.Contains(':')
            ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    /// <summary><c>strconv.ParseUint(s, 10, 16)</c>: one or more ASCII digits (leading zeros allowed), at most 65535.</summary>
    public static bool TryParsePort(ReadOnlySpan<char> text, out ushort port)
    {
        port = 0;
        if (text.IsEmpty) return false;
        var value = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (c - '0');
            if (value > ushort.MaxValue) return false;
        }
        port = (ushort)value;
        return true;
    }

    /// <summary>
    /// Go's <c>net.ParseIP</c> (Go ≥ 1.22, i.e. <c>netip.ParseAddr</c> without a zone): a dotted quad of decimal
    /// octets without leading zeros, or an IPv6 address with at most 4 hex digits per group, at most one
    /// <c>::</c> and an optional dotted quad in place of the last two groups. The result is normalised (an
    /// IPv4-mapped IPv6 address becomes IPv4).
    /// </summary>
    public static bool TryParseIp(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        foreach (var c in text)
        {
            if (c == '.') return TryParseIPv4(text, out address);
            if (c == ':') return TryParseIPv6(text, out address);
        }
        return false;
    }

    private static bool TryParseIPv4(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<byte> bytes = stackalloc byte[4];
        if (!TryParseIPv4Bytes(text, bytes)) return false;
        address = new IPAddress(bytes);
        return true;
    }

    private static bool TryParseIPv4Bytes(ReadOnlySpan<char> text, Span<byte> bytes)
    {
        var field = 0;
        var digits = 0;
        var value = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == '.')
            {
                // Every field needs a digit, and there are exactly four.
                if (digits == 0 || field > 3) return false;
                bytes[field++] = (byte)value;
                digits = value = 0;
                continue;
            }
            var c = text[i];
            if (!char.IsAsciiDigit(c)) return false;
            // Go rejects leading zeros since 1.17 (they used to mean octal in some parsers).
            if (digits == 1 && value == 0) return false;
            value = value * 10 + (c - '0');
            if (++digits > 3 || value > 255) return false;
        }
        return field == 4;
    }

    private static bool TryParseIPv6(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        var ellipsis = -1; // byte index where "::" stands
        var i = 0;         // next byte index to fill
        var s = text;
        if (s.StartsWith("::"))
        {
            ellipsis = 0;
            s = s[2..];
        }
        while (!s.IsEmpty && i < 16)
        {
            var n = 0;
            var group = 0;
            while (n < s.Length && char.IsAsciiHexDigit(s[n]))
            {
                if (n == 4) return false; // more than 4 hex digits in one group
                group = (group << 4) | HexValue(s[n]);
                n++;
            }
            if (n == 0) return false;
            if (n < s.Length && s[n] == '.')
            {
                // Embedded dotted quad: it must fill the last 4 bytes, or be followed by nothing after "::".
                if ((ellipsis < 0 && i != 12) || i + 4 > 16) return false;
                if (!TryParseIPv4Bytes(s, bytes.Slice(i, 4))) return false;
                i += 4;
                s = default;
                break;
            }
            bytes[i] = (byte)(group >> 8);
            bytes[i + 1] = (byte)group;
            i += 2;
            s = s[n..];
            if (s.IsEmpty) break;
            if (s[0] != ':' || s.Length == 1) return false;
            s = s[1..];
            if (s[0] == ':')
            {
                if (ellipsis >= 0) return false; // a second "::"
                ellipsis = i;
                s = s[1..];
            }
        }
        if (!s.IsEmpty) return false;
        if (i < 16)
        {
            if (ellipsis < 0) return false;
            var tail = i - ellipsis;
            bytes.Slice(ellipsis, tail).CopyTo(bytes.Slice(16 - tail));
            bytes.Slice(ellipsis, 16 - i).Clear();
        }
        else if (ellipsis >= 0)
        {
            return false; // "::" must stand for at least one group
        }
        address = Normalize(new IPAddress(bytes));
        return true;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>IPv4-mapped IPv6 → IPv4 (Go prints and compares them as IPv4); IPv6 zones dropped (Go's
    /// <c>net.IP</c> has none). Throws for non-IP address families.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => address,
            AddressFamily.InterNetworkV6 when address.IsIPv4MappedToIPv6 => address.MapToIPv4(),
            AddressFamily.InterNetworkV6 when address.ScopeId != 0 => new IPAddress(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => address,
            _ => throw new ArgumentException($"not an IPv4 or IPv6 address: {address.AddressFamily}", nameof(address)),
        };
    }

    /// <summary>Go's <c>net.IP.String</c>: dotted quad for IPv4; for IPv6 lowercase groups without leading zeros
    /// and the first longest run of two or more zero groups written as <c>::</c> (RFC 5952), never a dotted tail.</summary>
    public static string FormatIp(IPAddress address)
    {
        address = Normalize(address);
        Span<byte> b = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(b, out _);
            return string.Create(CultureInfo.InvariantCulture, $"{b[0]}.{b[1]}.{b[2]}.{b[3]}");
        }
        address.TryWriteBytes(b, out _);
        Span<ushort> groups = stackalloc ushort[8];
        for (var g = 0; g < 8; g++) groups[g] = (ushort)(b[2 * g] << 8 | b[2 * g + 1]);
        int runStart = -1, runLength = 0;
        for (var g = 0; g < 8;)
        {
            if (groups[g] != 0) { g++; continue; }
            var end = g;
            while (end < 8 && groups[end] == 0) end++;
            if (end - g >= 2 && end - g > runLength)
            {
                runStart = g;
                runLength = end - g;
            }
            g = end;
        }
        var sb = new StringBuilder(39);
        for (var g = 0; g < 8; g++)
        {
            if (g == runStart)
            {
                sb.Append("::");
                g += runLength - 1;
                continue;
            }
            if (g > 0 && g != runStart + runLength) sb.Append(':');
            sb.Append(groups[g].ToString("x", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>
    /// A syntactically valid DNS name (RFC 1123 labels of letters, digits, '-' and '_' as resolvers accept,
    /// 1..63 characters, no '-' at either end of a label, at most 253 characters plus an optional final dot,
    /// not all-numeric). This is what a name must look like before it is worth a lookup.
    /// </summary>
    public static bool IsHostName(ReadOnlySpan<char> name)
    {
        if (name.EndsWith(".")) name = name[..^1];
        if (name.IsEmpty || name.Length > 253) return false;
        var sawNonDigit = false;
        foreach (var range in name.Split('.'))
        {
            var label = name[range];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
            {
                if (char.IsAsciiDigit(c)) continue;
                if (!char.IsAsciiLetter(c) && c != '-' && c != '_') return false;
                sawNonDigit = true;
            }
        }
        // All-numeric text such as "127.0.0" is a malformed IP, never a name.
        return sawNonDigit;
    }
}
