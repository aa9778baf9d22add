using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using Switchboard.Crypto;

namespace Switchboard.Peers;

/// <summary>
/// A configured peer <c>id@host:port</c> whose host may be a DNS name (persistent peers, seeds). It is resolved
/// to a <see cref="NetAddress"/> with <see cref="ResolveAsync"/> before dialing — CometBFT resolves once, at
/// parse time; keeping the name lets a dialer re-resolve on every attempt when a peer's IP changes.
/// </summary>
/// <param name="Id">The node ID the peer must authenticate as.</param>
/// <param name="Host">An IP literal (normalised, IPv6 without brackets) or a DNS name.</param>
/// <param name="Port">The TCP port.</param>
public sealed record DialAddress(NodeId Id, string Host, ushort Port)
{
    private readonly NodeId _id = RequireId(Id);
    private readonly string _host = CanonicalHost(Host);

    /// <summary>The node ID the peer must authenticate as (never empty).</summary>
    public NodeId Id
    {
        get => _id;
        init => _id = RequireId(value);
    }

    /// <summary>An IP literal in Go's canonical text (IPv6 without brackets) or a DNS name.</summary>
    public string Host
    {
        get => _host;
        init => _host = CanonicalHost(value);
    }

    /// <summary><c>id@host:port</c>, with an IPv6 literal in brackets.</summary>
    public override string ToString() => Id.Value + "@" + NetAddressText.JoinHostPort(Host, Port);

    /// <summary>The address of a known <see cref="NetAddress"/> (which must carry an ID).</summary>
    /// <exception cref="ArgumentException">the address has no ID.</exception>
    public static DialAddress From(NetAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Id.IsEmpty) throw new ArgumentException("a dial address needs a node ID", nameof(address));
        return new DialAddress(address.Id, NetAddressText.FormatIp(address.Ip), address.Port);
    }

    /// <summary>Parses <c>id@host:port</c> or throws <see cref="FormatException"/> saying why.</summary>
    public static DialAddress Parse(string text) =>
        TryParse(text, out var address, out var error) ? address : throw new FormatException($"invalid peer address \"{text}\": {error}");

    /// <summary>
    /// Parses <c>id@host:port</c> with the rules of <see cref="NetAddress.TryParse(string?, out NetAddress?)"/>,
    /// except that the host may also be a syntactically valid DNS name. Nothing is resolved here.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out DialAddress? address) =>
        TryParse(text, out address, out _);

    internal static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out DialAddress? address,
        [NotNullWhen(false)] out string? error)
    {
        address = null;
        if (!NetAddress.TrySplitIdHostPort(text, out var id, out var host, out var port, out error)) return false;
        if (!NetAddressText.TryParseIp(host, out _) && !NetAddressText.IsHostName(host))
        {
            error = $"host \"{host}\" is neither an IP address nor a valid host name";
            return false;
        }
        address = new DialAddress(id, host, port);
        return true;
    }

    private static NodeId RequireId(NodeId id) =>
        id.IsEmpty ? throw new ArgumentException("a dial address needs a node ID", nameof(Id)) : id;

    private static string CanonicalHost(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (NetAddressText.TryParseIp(host, out var ip)) return NetAddressText.FormatIp(ip);
        if (NetAddressText.IsHostName(host)) return host;
        throw new ArgumentException($"\"{host}\" is neither an IP address nor a valid host name", nameof(Host));
    }

    /// <summary>
    /// The address to dial: an IP literal is used as is (no lookup); a name is resolved with the system resolver
    /// and the first IPv4 address is taken, else the first address.
    /// </summary>
    /// <exception cref="P2PException">the name does not resolve (the resolver's error is the inner exception).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<NetAddress> ResolveAsync(CancellationToken cancellationToken = default)
    {
        if (NetAddressText.TryParseIp(Host, out var literal)) return new NetAddress(Id, literal, Port);
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new P2PException($"cannot resolve \"{Host}\": {ex.Message}", ex);
        }
        if (addresses.Length == 0) throw new P2PException($"cannot resolve \"{Host}\": no addresses");
        var chosen = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        return new NetAddress(Id, chosen, Port);
    }
}
