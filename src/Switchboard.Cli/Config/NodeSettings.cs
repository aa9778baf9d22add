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

    /// <summary>Where the status API listens (<c>rpc.laddr</c>); null when it is empty (off).</summary>
    public required IPEndPoint? Rpc { get; init; }

    /// <summary>Where Prometheus metrics are served (<c>instrumentation.prometheus_listen_addr</c>); null unless <c>prometheus</c> is on.</summary>
    public required IPEndPoint? Metrics { get; init; }

    /// <summary>Where metrics are pushed by OTLP (<c>switchboard.otlp_endpoint</c>); null when empty.</summary>
    public required Uri? Otlp { get; init; }
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
        if (!IsPrintableAscii(config.ChainId)) throw Invalid("switchboard.chain_id", $"\"{config.ChainId}\" must be non-empty printable ASCII");
        if (!Addresses.TryParseListen(p2p.ListenAddress, out var listen, out var error)) throw Invalid("p2p.laddr", error);
        string? external = null;
        if (!string.IsNullOrEmpty(p2p.ExternalAddress) && !Addresses.TryParseExternal(p2p.ExternalAddress, out external, out error))
            throw Invalid("p2p.external_address", error);
        var persistent = ParsePeers("p2p.persistent_peers", p2p.PersistentPeers);
        var seeds = ParsePeers("p2p.seeds", pex.Seeds);
        var unconditional = ParseIds("p2p.unconditional_peer_ids", p2p.UnconditionalPeerIds);
        var privateIds = ParseIds("p2p.private_peer_ids", p2p.PrivatePeerIds);
        NonNegative("p2p.max_num_inbound_peers", p2p.MaxNumInboundPeers);
        NonNegative("p2p.max_num_outbound_peers", p2p.MaxNumOutboundPeers);
        NonNegative("switchboard.reconnect_max_attempts", p2p.ReconnectMaxAttempts);
        if (p2p.MaxIncomingConnections < 1) throw Invalid("switchboard.max_incoming_connections", "must be at least 1");
        Positive("p2p.dial_timeout", p2p.DialTimeout);
        Positive("p2p.handshake_timeout", p2p.HandshakeTimeout);
        NotNegative("p2p.persistent_peers_max_dial_period", p2p.PersistentPeersMaxDialPeriod);
        NotNegative("p2p.flush_throttle_timeout", mc.FlushThrottleTimeout);
        NotNegative("switchboard.dial_jitter", p2p.DialJitter);
        if (mc.MaxPacketMsgPayloadSize is < 1 or > 16 * 1024 * 1024) throw Invalid("p2p.max_packet_msg_payload_size", "must be from 1 to 16777216 bytes");
        if (mc.SendRate < 0) throw Invalid("p2p.send_rate", "must not be negative (0 = unlimited)");
        if (mc.RecvRate < 0) throw Invalid("p2p.recv_rate", "must not be negative (0 = unlimited)");
        Positive("switchboard.mconnection.ping_interval", mc.PingInterval);
        Positive("switchboard.mconnection.pong_timeout", mc.PongTimeout);
        if (mc.PongTimeout >= mc.PingInterval)
            throw Invalid("switchboard.mconnection.pong_timeout", $"{Duration.Format(mc.PongTimeout)} must be below ping_interval ({Duration.Format(mc.PingInterval)})");
        NotNegative("switchboard.mconnection.send_timeout", mc.SendTimeout);
        NotNegative("switchboard.mconnection.flush_coalescing_delay", mc.FlushCoalescingDelay);
        if (mc.MaxBufferedBytes < 1) throw Invalid("switchboard.mconnection.max_buffered_bytes", "must be at least 1");
        if (mc.MaxSendBufferedBytes < 1) throw Invalid("switchboard.mconnection.max_send_buffered_bytes", "must be at least 1");
        if (mc.ReservedBufferBytes < 0) throw Invalid("switchboard.mconnection.reserved_buffer_bytes", "must not be negative");
        if (p2p.SharedBufferBytes < 0) throw Invalid("switchboard.shared_buffer_bytes", "must not be negative");
        Positive("switchboard.mconnection.max_read_pause", mc.MaxReadPause);
        Positive("switchboard.mconnection.write_stall_timeout", mc.WriteStallTimeout);
        if (config.Instrumentation.MaxOpenConnections < 0) throw Invalid("instrumentation.max_open_connections", "must not be negative (0 = unlimited)");
        IPEndPoint? metrics = null;
        if (config.Instrumentation.Prometheus)
        {
            // CometBFT writes ":26660" (every interface); the host part may be left out.
            var text = config.Instrumentation.PrometheusListenAddr?.Trim() ?? "";
            if (text.StartsWith(':')) text = "0.0.0.0" + text;
            if (!Addresses.TryParseListen(text, out metrics, out error)) throw Invalid("instrumentation.prometheus_listen_addr", error);
        }
        Uri? otlp = null;
        if (!string.IsNullOrEmpty(config.Instrumentation.OtlpEndpoint)
            && (!Uri.TryCreate(config.Instrumentation.OtlpEndpoint, UriKind.Absolute, out otlp) || otlp.Scheme is not ("http" or "https")))
            throw Invalid("switchboard.otlp_endpoint", $"\"{config.Instrumentation.OtlpEndpoint}\" is not an http:// or https:// URL");
        IPEndPoint? rpc = null;
        if (!string.IsNullOrEmpty(config.Rpc.Laddr) && !Addresses.TryParseListen(config.Rpc.Laddr, out rpc, out error)) throw Invalid("rpc.laddr", error);
        if (string.IsNullOrWhiteSpace(pex.AddrBookFile)) throw Invalid("p2p.addr_book_file", "must not be empty");
        // A seed is a PEX service; CometBFT refuses seed_mode without pex as well.
        if (pex.SeedMode && !pex.Enabled) throw Invalid("p2p.seed_mode", "needs p2p.pex = true (a seed is a PEX service)");
        byte? echo = null;
        if (!string.IsNullOrEmpty(diagnostics.EchoChannel))
        {
            if (!Addresses.TryParseChannel(diagnostics.EchoChannel, out var channel, out error)) throw Invalid("switchboard.echo_channel", error);
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
            MaxSendBufferedBytes = mc.MaxSendBufferedBytes,
            ReservedBufferBytes = mc.ReservedBufferBytes,
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
                // CometBFT's persistent_peers_max_dial_period caps the backoff; 0 keeps the policy's own cap (1 h).
                MaxBackoff = p2p.PersistentPeersMaxDialPeriod > TimeSpan.Zero ? p2p.PersistentPeersMaxDialPeriod : new ReconnectPolicy().MaxBackoff,
                MaxAttempts = p2p.ReconnectMaxAttempts == 0 ? null : p2p.ReconnectMaxAttempts,
            },
            Connection = connection,
            SharedBufferBytes = p2p.SharedBufferBytes,
        };
        var transport = new TransportOptions
        {
            DialTimeout = p2p.DialTimeout,
            HandshakeTimeout = p2p.HandshakeTimeout,
            // The Switch admits max_num_inbound_peers plus unconditional peers; the listener must hold at least that many.
            MaxIncomingConnections = Math.Max(p2p.MaxIncomingConnections, p2p.MaxNumInboundPeers + unconditional.Count),
            AllowDuplicateIp = p2p.AllowDuplicateIp,
        };
        LibraryCheck(connection.Validate);
        LibraryCheck(switchOptions.Validate);
        LibraryCheck(transport.Validate);
        return new NodeSettings
        {
            Config = config,
            Listen = listen,
            ExternalAddress = external,
            PersistentPeers = persistent,
            Seeds = seeds,
            EchoChannel = echo,
            Rpc = rpc,
            Metrics = metrics,
            Otlp = otlp,
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

    // The library's own range checks, as a last line behind the checks above: its messages name .NET properties,
    // which are translated to the config keys they come from.
    private static readonly (string Property, string Key)[] LibraryNames =
    [
        ("MaxPacketMsgPayloadSize", "p2p.max_packet_msg_payload_size"), ("PingInterval", "switchboard.mconnection.ping_interval"),
        ("PongTimeout", "switchboard.mconnection.pong_timeout"), ("SendTimeout", "switchboard.mconnection.send_timeout"),
        ("SendRate", "p2p.send_rate"), ("RecvRate", "p2p.recv_rate"), ("FlushCoalescingDelay", "switchboard.mconnection.flush_coalescing_delay"),
        ("WriteBufferSize", "switchboard.mconnection.write_buffer_size"), ("MaxBufferedBytes", "switchboard.mconnection.max_buffered_bytes"),
        ("MaxReadPause", "switchboard.mconnection.max_read_pause"), ("WriteStallTimeout", "switchboard.mconnection.write_stall_timeout"),
        ("DialTimeout", "p2p.dial_timeout"), ("HandshakeTimeout", "p2p.handshake_timeout"),
        ("MaxIncomingConnections", "switchboard.max_incoming_connections"), ("Network (chain ID)", "switchboard.chain_id"),
    ];

    private static void LibraryCheck(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException ex)
        {
            var message = ex.Message;
            var key = "config";
            foreach (var (property, name) in LibraryNames)
            {
                if (!message.Contains(property, StringComparison.Ordinal)) continue;
                message = message.Replace(property, name.Split('.')[^1], StringComparison.Ordinal);
                key = key == "config" ? name : key;
            }
            throw new ConfigException($"{key}: {message}");
        }
    }

    private static void NotNegative(string key, TimeSpan value)
    {
        if (value < TimeSpan.Zero) throw Invalid(key, "must not be negative");
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
