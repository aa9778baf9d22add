using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Nat;

/// <summary>One SSDP search response (UPnP Device Architecture 1.1 §1.3.3).</summary>
internal sealed record SsdpResponse(Uri Location, string SearchTarget, string? Usn, string? Server)
{
    /// <summary>Who sent it.</summary>
    public IPEndPoint? From { get; init; }

    /// <summary>Our address the search was sent from (and the reply received on).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>
    /// 8 KiB: a search response is a dozen short headers (miniupnpd sends ~400 bytes); anything bigger is refused
    /// before it is decoded.
    /// </summary>
    public const int MaxDatagramBytes = 8 * 1024;

    /// <summary>Parses a datagram; throws <see cref="NatException"/> (never anything else) when it is not a usable reply.</summary>
    public static SsdpResponse Parse(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > MaxDatagramBytes)
            throw new NatException(NatError.ResponseTooLarge, $"SSDP reply of {datagram.Length} bytes exceeds {MaxDatagramBytes}");
        var text = Encoding.Latin1.GetString(datagram);
        var lines = text.Split('\n');
        var status = lines[0].TrimEnd('\r').Trim();
        // "HTTP/1.1 200 OK"; some devices send "HTTP/1.0 200 OK" or lower-case reason phrases.
        var parts = status.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.OrdinalIgnoreCase) || parts[1] != "200")
            throw new NatException(NatError.MalformedResponse, $"not an SSDP search response: '{MiniHttp.Truncate(status)}'");
        string? location = null, st = null, usn = null, server = null;
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0) break;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue; // tolerate junk lines, as other clients do; only the fields below matter
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("LOCATION", StringComparison.OrdinalIgnoreCase)) location ??= value;
            else if (name.Equals("ST", StringComparison.OrdinalIgnoreCase)) st ??= value;
            else if (name.Equals("USN", StringComparison.OrdinalIgnoreCase)) usn ??= value;
            else if (name.Equals("SERVER", StringComparison.OrdinalIgnoreCase)) server ??= value;
        }
        if (string.IsNullOrEmpty(location))
            throw new NatException(NatError.MalformedResponse, "SSDP reply without LOCATION");
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            throw new NatException(NatError.MalformedResponse, $"SSDP LOCATION is not an http URL: '{MiniHttp.Truncate(location)}'");
        return new SsdpResponse(uri, st ?? "", usn, server);
    }
}

/// <summary>Sends SSDP M-SEARCH requests for Internet Gateway Devices and collects the replies.</summary>
internal static class SsdpDiscovery
{
    // IGD:1 is what most gateways answer (miniupnpd answers it even when it is IGD:2); IGD:2 for strict v2 devices.
    internal static readonly string[] SearchTargets =
    [
        "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
    ];

    /// <summary>64 distinct LOCATIONs: a LAN has one or two gateways; a flood of replies must not grow memory without bound.</summary>
    internal const int MaxGateways = 64;

    /// <summary>32 error notes at most, for the same reason.</summary>
    internal const int MaxErrors = 32;

    internal static byte[] BuildSearch(IPEndPoint target, string st, int mx) => Encoding.ASCII.GetBytes(
        $"M-SEARCH * HTTP/1.1\r\nHOST: {target}\r\nMAN: \"ssdp:discover\"\r\nMX: {mx}\r\nST: {st}\r\n\r\n");

    /// <summary>
    /// Searches from every candidate local address and returns the distinct replies (by LOCATION). Waits at most
    /// <paramref name="timeout"/>; once a reply has arrived it stops after <paramref name="settle"/> without a new one.
    /// </summary>
    public static async Task<IReadOnlyList<SsdpResponse>> DiscoverAsync(
        NatNetwork network, IPAddress? localAddress, TimeSpan timeout, TimeSpan settle, List<string>? errors,
        CancellationToken cancellationToken = default)
    {
        var locals = CandidateAddresses(network, localAddress);
        if (locals.Count == 0)
        {
            errors?.Add("SSDP: no local IPv4 address with a route to 239.255.255.250");
            return [];
        }
        var found = new Dictionary<string, SsdpResponse>(StringComparer.Ordinal);
        var gate = new object();
        var lastNew = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var sockets = new List<Socket>();
        try
        {
            var receivers = new List<Task>();
            foreach (var local in locals)
            {
                Socket socket;
                try
                {
                    socket = network.CreateUdp();
                    sockets.Add(socket);
                    socket.Bind(new IPEndPoint(local, 0));
                    // Multicast goes out of the interface that owns `local`, with TTL 2 (UDA 1.1 recommends 2).
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, local.GetAddressBytes());
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 2);
                    var mx = Math.Clamp((int)Math.Ceiling(timeout.TotalSeconds / 2), 1, 5);
                    foreach (var st in SearchTargets)
                        await socket.SendToAsync(BuildSearch(network.SsdpEndpoint, st, mx), network.SsdpEndpoint, cts.Token).ConfigureAwait(false);
                }
                catch (SocketException ex)
                {
                    lock (gate) errors?.Add($"SSDP from {local}: {ex.SocketErrorCode}");
                    continue;
                }
                receivers.Add(ReceiveLoopAsync(socket, local, found, gate, lastNew, errors, cts.Token));
            }
            if (receivers.Count == 0) return [];
            var all = Task.WhenAll(receivers);
            // Settle check: replies come within MX seconds; once one arrived, a quiet period ends the wait early.
            while (!all.IsCompleted)
            {
                var tick = Task.Delay(TimeSpan.FromMilliseconds(25), CancellationToken.None);
                await Task.WhenAny(all, tick).ConfigureAwait(false);
                lock (gate)
                    if (found.Count > 0 && lastNew.Elapsed >= settle) break;
            }
            cts.Cancel();
            try { await all.ConfigureAwait(false); } catch (OperationCanceledException) { }
            cancellationToken.ThrowIfCancellationRequested();
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
        lock (gate) return [.. found.Values];
    }

    private static async Task ReceiveLoopAsync(Socket socket, IPAddress local, Dictionary<string, SsdpResponse> found, object gate,
        Stopwatch lastNew, List<string>? errors, CancellationToken ct)
    {
        // One byte more than the limit, so an oversize datagram is seen as oversize rather than silently truncated.
        var buffer = new byte[SsdpResponse.MaxDatagramBytes + 1];
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue;
            }
            try
            {
                var reply = SsdpResponse.Parse(buffer.AsSpan(0, r.ReceivedBytes)) with { From = r.RemoteEndPoint as IPEndPoint, LocalAddress = local };
                lock (gate)
                {
                    if (found.Count < MaxGateways && found.TryAdd(reply.Location.AbsoluteUri, reply)) lastNew.Restart();
                }
            }
            catch (NatException ex)
            {
                lock (gate)
                    if (errors is not null && errors.Count < MaxErrors) errors.Add($"SSDP reply from {r.RemoteEndPoint}: {ex.Message}");
            }
        }
    }

    private static List<IPAddress> CandidateAddresses(NatNetwork network, IPAddress? explicitLocal)
    {
        if (explicitLocal is not null) return [explicitLocal];
        var list = new List<IPAddress>();
        // The address the routing table uses for the multicast group (normally the default-route interface) first.
        if (network.SourceAddressFor(network.SsdpEndpoint.Address, network.SsdpEndpoint.Port) is { } viaRoute) list.Add(viaRoute);
        foreach (var a in network.InterfaceAddresses())
            if (!list.Contains(a)) list.Add(a);
        return list;
    }
}
