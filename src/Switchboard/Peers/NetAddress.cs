using System.Diagnostics.CodeAnalysis;
using System.Net;
using Switchboard.Crypto;

namespace Switchboard.Peers;

/// <summary>
/// A peer address <c>id@ip:port</c> with an IP literal (CometBFT's <c>NetAddress</c>). <see cref="Id"/> may be
/// <c>default</c> (no ID), as for the raw TCP address of an inbound connection.
/// </summary>
/// <remarks>
/// An IPv4-mapped IPv6 address (<c>::ffff:a.b.c.d</c>) is stored as IPv4 and an IPv6 zone is dropped, so that
/// equality, <see cref="ToString"/> and the PEX payload match what Go produces. Addresses configured with a host
/// name are a <see cref="DialAddress"/>, resolved once before dialing; this type never does DNS.
/// </remarks>
/// <param name="Id">The node ID, or <c>default</c> for none.</param>
/// <param name="Ip">The IP address (normalised at construction).</param>
/// <param name="Port">The TCP port.</param>
public sealed partial record NetAddress(NodeId Id, IPAddress Ip, ushort Port)
{
    private readonly IPAddress _ip = NetAddressText.Normalize(Ip);

    /// <summary>The IP address: IPv4, or IPv6 that is not IPv4-mapped, without a zone.</summary>
    public IPAddress Ip
    {
        get => _ip;
        init => _ip = NetAddressText.Normalize(value);
    }

    /// <summary>Host and port joined the Go way, without the ID: <c>1.2.3.4:26656</c>, <c>[2001:db8::1]:26656</c>.</summary>
    public string DialString => NetAddressText.JoinHostPort(NetAddressText.FormatIp(_ip), Port);

    /// <summary><c>id@</c> + <see cref="DialString"/>, or just the dial string when there is no ID (Go's <c>String()</c>).</summary>
    public override string ToString() => Id.IsEmpty ? DialString : Id.Value + "@" + DialString;

    /// <summary>
    /// CometBFT's <c>Same</c>: true if the dial strings are equal, or both carry the same (non-empty) ID.
    /// Used to recognise one peer reached under another address.
    /// </summary>
    public bool Same(NetAddress? other) =>
        other is not null && (DialString == other.DialString || (!Id.IsEmpty && Id == other.Id));

    /// <summary>
    /// CometBFT's <c>Valid()</c>: the ID is set and valid, and the IP is not unspecified (0.0.0.0, ::), not the
    /// IPv6 documentation prefix 2001:db8::/32 (RFC 3849), not 255.255.255.255. Port 0 is accepted.
    /// </summary>
    public bool IsValid => !Id.IsEmpty && !IsUnspecified && !IsRfc3849 && !IsBroadcast;

    /// <summary>CometBFT's <c>Local()</c>: loopback (127/8, ::1) or inside 0.0.0.0/8.</summary>
    public bool IsLocal => IsLoopback || IsZero4;

    /// <summary>
    /// CometBFT's <c>Routable()</c>: <see cref="IsValid"/> and not private (RFC 1918), link-local (RFC 3927,
    /// RFC 4862), unique-local (RFC 4193), ORCHID (RFC 4843) or <see cref="IsLocal"/>. Everything else, including
    /// CGNAT 100.64/10, multicast and 240/4, counts as routable, as in Go.
    /// </summary>
    public bool IsRoutable =>
        IsValid && !(IsRfc1918 || IsRfc3927 || IsRfc4862 || IsRfc4193 || IsRfc4843 || IsLocal);

    /// <summary>Parses <c>id@ip:port</c> (optionally after <c>scheme://</c>, IPv6 in brackets) with an IP literal.</summary>
    /// <exception cref="FormatException">the text is not such an address; the message says why.</exception>
    public static NetAddress Parse(string text) =>
        TryParse(text, out var address, out var error) ? address : throw new FormatException($"invalid address \"{text}\": {error}");

    /// <summary>
    /// Parses <c>id@ip:port</c> like CometBFT's <c>NewNetAddressString</c>: an optional leading <c>scheme://</c> is
    /// removed, there must be exactly one <c>@</c>, the ID must be valid, the host an IP literal (Go's syntax;
    /// IPv6 in brackets) and the port decimal 0..65535. A host name fails here (see <see cref="DialAddress"/>).
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out NetAddress? address) =>
        TryParse(text, out address, out _);

    internal static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out NetAddress? address,
        [NotNullWhen(false)] out string? error)
    {
        address = null;
        if (!TrySplitIdHostPort(text, out var id, out var host, out var port, out error)) return false;
        if (!NetAddressText.TryParseIp(host, out var ip))
        {
            error = NetAddressText.IsHostName(host)
                ? $"host \"{host}\" is a name, not an IP address (resolve it with DialAddress)"
                : $"host \"{host}\" is not an IP address";
            return false;
        }
        address = new NetAddress(id, ip, port);
        return true;
    }

    /// <summary>The steps of <c>NewNetAddressString</c> that come before the host is interpreted.</summary>
    internal static bool TrySplitIdHostPort([NotNullWhen(true)] string? text, out NodeId id,
        [NotNullWhen(true)] out string? host, out ushort port, [NotNullWhen(false)] out string? error)
    {
        id = default;
        host = null;
        port = 0;
        if (text is null)
        {
            error = "no text";
            return false;
        }
        var rest = NetAddressText.StripScheme(text);
        var at = rest.IndexOf('@');
        if (at < 0 || rest.IndexOf('@', at + 1) >= 0)
        {
            error = "want exactly one '@' between the node ID and the host";
            return false;
        }
        var idText = rest[..at];
        if (!NodeId.TryParse(idText, out id))
        {
            error = idText.Length == 0
                ? "empty node ID before '@': want ID@host:port with the node's 40-hex-character ID (switchboard show-node-id)"
                : $"invalid node ID \"{idText}\": want 40 hex characters";
            return false;
        }
        if (!NetAddressText.TrySplitHostPort(rest[(at + 1)..], out var h, out var portText, out error)) return false;
        if (h.Length == 0)
        {
            error = "host is empty";
            return false;
        }
        if (!NetAddressText.TryParsePort(portText, out port))
        {
            error = $"invalid port \"{portText}\": want a decimal number 0..65535";
            return false;
        }
        host = h;
        return true;
    }
}
