using System.Net;

namespace Switchboard.Transport;

/// <summary>Decides whether a raw connection from or to <c>remote</c> may proceed to the handshake.</summary>
/// <returns>null to accept, or a human-readable reason to refuse.</returns>
public delegate ValueTask<string?> ConnectionFilter(IPEndPoint remote, CancellationToken cancellationToken);

/// <summary>Settings shared by every transport.</summary>
public sealed record TransportOptions
{
    /// <summary>TCP connect limit. Default 3 s (CometBFT's <c>dial_timeout</c>, which CometBFT itself ignores for a hard-coded 1 s).</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Limit for the whole upgrade (secret connection + NodeInfo). Default 20 s (CometBFT's <c>handshake_timeout</c>).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Most inbound connections held at once, handshaking or established; further connections wait in the
    /// listen backlog. Default 50 (CometBFT: max_num_inbound_peers 40 + unconditional peers; the Switch raises it).
    /// </summary>
    public int MaxIncomingConnections { get; init; } = 50;

    /// <summary>Allow several connections from one IP address. Default false (CometBFT's <c>allow_duplicate_ip</c>). A Switch
    /// whose <see cref="SwitchOptions.AllowDuplicateIp"/> is set allows it on its transport too.</summary>
    public bool AllowDuplicateIp { get; init; }

    /// <summary>Caller-supplied filters, run in parallel with <see cref="FilterTimeout"/>.</summary>
    public IReadOnlyList<ConnectionFilter> Filters { get; init; } = [];

    /// <summary>Limit for the filters. Default 5 s as CometBFT.</summary>
    public TimeSpan FilterTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock for every timeout. Left at <see cref="TimeProvider.System"/>, a Switch over this transport gives it
    /// <see cref="SwitchOptions.TimeProvider"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (DialTimeout <= TimeSpan.Zero) throw new ArgumentException("DialTimeout must be positive");
        if (HandshakeTimeout <= TimeSpan.Zero) throw new ArgumentException("HandshakeTimeout must be positive");
        if (FilterTimeout <= TimeSpan.Zero) throw new ArgumentException("FilterTimeout must be positive");
        if (MaxIncomingConnections < 1) throw new ArgumentException("MaxIncomingConnections must be at least 1");
    }
}
