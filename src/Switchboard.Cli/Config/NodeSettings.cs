using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Cli.Config;

/// <summary>
/// A <see cref="NodeConfig"/> checked and turned into the library's option records. Every problem is a
/// <see cref="ConfigException"/> naming the setting (<c>p2p.listen_address</c>, …), so the file and the flags that
/// override it share one set of checks.
/// </summary>
internal sealed record NodeSettings
{
    public required NodeConfig Config { get; init; }
    public required IPEndPoint Listen { get; init; }
    public required string? ExternalAddress { get; init; }
    public required IReadOnlyList<DialAddress> PersistentPeers { get; init; }
    public required IReadOnlyList<DialAddress> Seeds { get; init; }
    public required byte? EchoChannel { get; init; }
    public required SwitchOptions Switch { get; init; }
    public required TransportOptions Transport { get; init; }

    public static NodeSettings From(NodeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var p2p = config.P2P ?? throw Invalid("p2p", "must not be null");
        var mc = config.MConnection ?? throw Invalid("mconnection", "must not be null");
        var pex = config.Pex ?? throw Invalid("pex", "must not be null");
        var diagnostics = config.Diagnostics ?? throw Invalid("diagnostics", "must not be null");

        if (!IsPrintableAscii(config.Moniker)) throw Invalid("moniker", $"\"{config.Moniker}\" must be non-empty printable ASCII");
        if (!IsPrintableAscii(config.ChainId)) throw Invalid("chain_id", $"\"{config.ChainId}\" must be non-empty printable ASCII");
        if (!Addresses.TryParseListen(p2p.ListenAddress, out var listen, out var error)) throw Invalid("p2p.listen_address", error);
        string? external = null;
        if (!string.IsNullOrEmpty(p2p.ExternalAddress) && !Addresses.TryParseExternal(p2p.ExternalAddress, out external, out error))
            throw Invalid("p2p.external_address", error);
        var persistent = ParsePeers("p2p.persistent_peers", p2p.PersistentPeers);
        var seeds = ParsePeers("pex.seeds", pex.Seeds);
        var unconditional = ParseIds("p2p.unconditional_peer_ids", p2p.UnconditionalPeerIds);
        var privateIds = ParseIds("p2p.private_peer_ids", p2p.PrivatePeerIds);
        NonNegative("p2p.max_num_inbound_peers", p2p.MaxNumInboundPeers);
        NonNegative("p2p.max_num_outbound_peers", p2p.MaxNumOutboundPeers);
        NonNegative("p2p.reconnect_max_attempts", p2p.ReconnectMaxAttempts);
        if (p2p.MaxIncomingConnections < 1) throw Invalid("p2p.max_incoming_connections", "must be at least 1");
        Positive("p2p.dial_timeout", p2p.DialTimeout);
        Positive("p2p.handshake_timeout", p2p.HandshakeTimeout);
        Positive("p2p.reconnect_max_backoff", p2p.ReconnectMaxBackoff);
        if (string.IsNullOrWhiteSpace(pex.AddrBookFile)) throw Invalid("pex.addr_book_file", "must not be empty");
        // A seed is a PEX service; CometBFT refuses seed_mode without pex as well.
        if (pex.SeedMode && !pex.Enabled) throw Invalid("pex.seed_mode", "needs pex.enabled (a seed is a PEX service)");
        byte? echo = null;
        if (!string.IsNullOrEmpty(diagnostics.EchoChannel))
        {
            if (!Addresses.TryParseChannel(diagnostics.EchoChannel, out var channel, out error)) throw Invalid("diagnostics.echo_channel", error);
            echo = channel;
        }

        var connection = new MConnectionOptions
        {
            MaxPacketMsgPayloadSize = mc.MaxPacketMsgPayloadSize,
            SendRate = mc.SendRate,
            RecvRate = mc.RecvRate,
            PingInterval = mc.PingInterval,
            PongTimeout = mc.PongTimeout,
            SendTimeout = mc.SendTimeout,
            FlushCoalescingDelay = mc.FlushCoalescingDelay,
            WriteBufferSize = mc.WriteBufferSize,
            MaxBufferedBytes = mc.MaxBufferedBytes,
            MaxReadPause = mc.MaxReadPause,
            WriteStallTimeout = mc.WriteStallTimeout,
        };
        var switchOptions = new SwitchOptions
        {
            Network = config.ChainId,
            Moniker = config.Moniker,
            ExternalAddress = external,
            MaxInboundPeers = p2p.MaxNumInboundPeers,
            MaxOutboundPeers = p2p.MaxNumOutboundPeers,
            PersistentPeers = persistent,
            UnconditionalPeerIds = unconditional,
            PrivatePeerIds = privateIds,
            AllowDuplicateIp = p2p.AllowDuplicateIp,
            DialJitter = p2p.DialJitter,
            Reconnect = new ReconnectPolicy
            {
                MaxBackoff = p2p.ReconnectMaxBackoff,
                MaxAttempts = p2p.ReconnectMaxAttempts == 0 ? null : p2p.ReconnectMaxAttempts,
            },
            Connection = connection,
        };
        var transport = new TransportOptions
        {
            DialTimeout = p2p.DialTimeout,
            HandshakeTimeout = p2p.HandshakeTimeout,
            // The Switch admits max_num_inbound_peers plus unconditional peers; the listener must hold at least that many.
            MaxIncomingConnections = Math.Max(p2p.MaxIncomingConnections, p2p.MaxNumInboundPeers + unconditional.Count),
            AllowDuplicateIp = p2p.AllowDuplicateIp,
        };
        LibraryCheck("mconnection", connection.Validate);
        LibraryCheck("p2p", switchOptions.Validate);
        LibraryCheck("p2p", transport.Validate);
        return new NodeSettings
        {
            Config = config,
            Listen = listen,
            ExternalAddress = external,
            PersistentPeers = persistent,
            Seeds = seeds,
            EchoChannel = echo,
            Switch = switchOptions,
            Transport = transport,
        };
    }

    private static List<DialAddress> ParsePeers(string key, IReadOnlyList<string>? entries)
    {
        var list = new List<DialAddress>();
        foreach (var entry in entries ?? throw Invalid(key, "must be a list, not null"))
        {
            try
            {
                list.Add(DialAddress.Parse(entry ?? ""));
            }
            catch (FormatException ex)
            {
                throw Invalid(key, ex.Message);
            }
        }
        return list;
    }

    private static List<NodeId> ParseIds(string key, IReadOnlyList<string>? entries)
    {
        var list = new List<NodeId>();
        foreach (var entry in entries ?? throw Invalid(key, "must be a list, not null"))
        {
            if (!NodeId.TryParse(entry, out var id)) throw Invalid(key, $"\"{entry}\" is not a node ID (40 lowercase hex characters)");
            list.Add(id);
        }
        return list;
    }

    // The library's own range checks (e.g. pong_timeout below ping_interval), reported against the file's section.
    private static void LibraryCheck(string section, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException ex)
        {
            throw Invalid(section, ex.Message);
        }
    }

    private static void NonNegative(string key, int value)
    {
        if (value < 0) throw Invalid(key, $"must not be negative (got {value})");
    }

    private static void Positive(string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) throw Invalid(key, "must be above 0");
    }

    // CometBFT's IsASCIIText plus "not only spaces", the rule NodeInfo.Validate applies to moniker and network.
    private static bool IsPrintableAscii(string? text) =>
        !string.IsNullOrEmpty(text) && text.All(c => c is >= ' ' and <= '~') && text.Any(c => c != ' ');

    private static ConfigException Invalid(string key, string problem) => new($"{key}: {problem}");
}
