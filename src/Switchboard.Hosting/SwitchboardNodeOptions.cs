using System.Net;
using Switchboard.Peers;

namespace Switchboard.Hosting;

/// <summary>
/// The settings of a hosted node that configuration can hold (strings, numbers, durations), bound by
/// <see cref="SwitchboardServiceCollectionExtensions.AddSwitchboard(Microsoft.Extensions.DependencyInjection.IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/>
/// from a section such as <c>"Switchboard"</c> and checked when the host starts. Everything else of
/// <see cref="SwitchOptions"/> is set in code with <see cref="ISwitchboardBuilder.ConfigureSwitch"/>.
/// </summary>
/// <remarks>A mutable class, unlike the library's option records, because the configuration binder and
/// <c>Configure&lt;T&gt;</c> fill it in place; <see cref="ToSwitchOptions"/> turns it into the immutable record.</remarks>
public sealed class SwitchboardNodeOptions
{
    /// <summary>The configuration section <c>AddSwitchboard(configuration)</c> callers usually pass: "Switchboard".</summary>
    public const string SectionName = "Switchboard";

    /// <summary>Chain ID advertised and required of peers (<see cref="SwitchOptions.Network"/>). Default "switchboard".</summary>
    public string Network { get; set; } = "switchboard";

    /// <summary>Human-readable node name. Default "switchboard".</summary>
    public string Moniker { get; set; } = "switchboard";

    /// <summary>
    /// Where to listen: <c>tcp://IP:PORT</c> or <c>IP:PORT</c> (port 0 picks a free one; the bound address is then
    /// <see cref="Switch.ListenAddress"/>). Empty: the node only dials. Default <c>tcp://0.0.0.0:26656</c>, CometBFT's
    /// <c>p2p.laddr</c>.
    /// </summary>
    public string? ListenAddress { get; set; } = "tcp://0.0.0.0:26656";

    /// <summary>Address advertised instead of the bound one (<c>HOST:PORT</c>, e.g. a NAT's external address).</summary>
    public string? ExternalAddress { get; set; }

    /// <summary>
    /// The node key file (CometBFT's node_key.json), created when missing. Null or empty: a new key for every run,
    /// so a new node ID (right for tests and throw-away nodes only).
    /// </summary>
    public string? NodeKeyFile { get; set; }

    /// <summary>Peers to keep connected, each <c>id@host:port</c> (<see cref="SwitchOptions.PersistentPeers"/>); blank
    /// entries are ignored.</summary>
    public List<string> PersistentPeers { get; set; } = [];

    /// <summary>Most inbound peers. Default 40.</summary>
    public int MaxInboundPeers { get; set; } = new SwitchOptions().MaxInboundPeers;

    /// <summary>Outbound target. Default 10.</summary>
    public int MaxOutboundPeers { get; set; } = new SwitchOptions().MaxOutboundPeers;

    /// <summary>Allow several peers from one IP address. Default false (CometBFT's <c>allow_duplicate_ip</c>).</summary>
    public bool AllowDuplicateIp { get; set; }

    /// <summary>Random delay before the first dial of each persistent peer. Default 3 s, as CometBFT.</summary>
    public TimeSpan DialJitter { get; set; } = new SwitchOptions().DialJitter;

    /// <summary>TCP connect timeout. Default 3 s (CometBFT's <c>dial_timeout</c>).</summary>
    public TimeSpan DialTimeout { get; set; } = new Transport.TransportOptions().DialTimeout;

    /// <summary>Secret-connection and NodeInfo handshake timeout. Default 20 s (CometBFT's <c>handshake_timeout</c>).</summary>
    public TimeSpan HandshakeTimeout { get; set; } = new Transport.TransportOptions().HandshakeTimeout;

    /// <summary>Parses <see cref="ListenAddress"/>; null when the node does not listen.</summary>
    /// <exception cref="FormatException">The address is not <c>[tcp://]IP:PORT</c>.</exception>
    public IPEndPoint? ParseListenEndPoint()
    {
        if (string.IsNullOrWhiteSpace(ListenAddress)) return null;
        var text = ListenAddress.Trim();
        if (text.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)) text = text["tcp://".Length..];
        if (!IPEndPoint.TryParse(text, out var endPoint) || text.IndexOf(':', StringComparison.Ordinal) < 0)
            throw new FormatException($"{nameof(ListenAddress)}: \"{ListenAddress}\" is not [tcp://]IP:PORT");
        return endPoint;
    }

    /// <summary>The transport settings these options describe.</summary>
    public Transport.TransportOptions ToTransportOptions() => new()
    {
        DialTimeout = DialTimeout,
        HandshakeTimeout = HandshakeTimeout,
        AllowDuplicateIp = AllowDuplicateIp,
    };

    /// <summary>The Switch settings these options describe (the rest at their defaults).</summary>
    /// <exception cref="FormatException">A persistent peer is not <c>id@host:port</c>.</exception>
    public SwitchOptions ToSwitchOptions()
    {
        var peers = new List<DialAddress>(PersistentPeers.Count);
        for (var i = 0; i < PersistentPeers.Count; i++)
        {
            // Blank entries are no peer, as an empty persistent_peers in CometBFT's config (an environment variable
            // set to "" binds one).
            if (string.IsNullOrWhiteSpace(PersistentPeers[i])) continue;
            if (!DialAddress.TryParse(PersistentPeers[i], out var peer))
                throw new FormatException($"{nameof(PersistentPeers)}[{i}]: \"{PersistentPeers[i]}\" is not id@host:port");
            peers.Add(peer);
        }
        return new SwitchOptions
        {
            Network = Network,
            Moniker = Moniker,
            ExternalAddress = string.IsNullOrWhiteSpace(ExternalAddress) ? null : ExternalAddress,
            PersistentPeers = peers,
            MaxInboundPeers = MaxInboundPeers,
            MaxOutboundPeers = MaxOutboundPeers,
            AllowDuplicateIp = AllowDuplicateIp,
            DialJitter = DialJitter,
        };
    }
}
