using System.Globalization;
using System.Text;
using System.Text.Json;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Switchboard.Cli.Config;

/// <summary>
/// Reads and writes <see cref="NodeConfig"/> as CometBFT's <c>config/config.toml</c>. Read: the base keys
/// (<c>moniker</c>, <c>log_level</c>, <c>log_format</c>, <c>node_key_file</c>, <c>genesis_file</c>), the whole
/// <c>[p2p]</c> section, <c>[instrumentation]</c>, <c>rpc.laddr</c> and Switchboard's own <c>[switchboard]</c> and
/// <c>[switchboard.mconnection]</c>. CometBFT's other keys and sections (mempool, consensus, …) are accepted and
/// ignored; an unknown key in a section we read, an unknown section, a wrong type or a bad value is a
/// <see cref="ConfigException"/> that names the key and its line, so a typo never silently leaves a default in place.
/// </summary>
internal static class ConfigToml
{
    public const string FileName = "config.toml";

    /// <summary>1 MiB: CometBFT's default file is 20 KiB; anything larger is a mistake (or not a config file).</summary>
    private const long MaxSize = 1024 * 1024;

    private enum Kind { String, Bool, Int, Long, Duration, List }

    private sealed record Setting(string Name, Kind Kind, Func<NodeConfig, object> Get, Action<NodeConfig, object> Set, string Help);

    private static Setting S(string name, Func<NodeConfig, string> get, Action<NodeConfig, string> set, string help) =>
        new(name, Kind.String, c => get(c), (c, v) => set(c, (string)v), help);

    private static Setting B(string name, Func<NodeConfig, bool> get, Action<NodeConfig, bool> set, string help) =>
        new(name, Kind.Bool, c => get(c), (c, v) => set(c, (bool)v), help);

    private static Setting I(string name, Func<NodeConfig, int> get, Action<NodeConfig, int> set, string help) =>
        new(name, Kind.Int, c => get(c), (c, v) => set(c, (int)v), help);

    private static Setting L(string name, Func<NodeConfig, long> get, Action<NodeConfig, long> set, string help) =>
        new(name, Kind.Long, c => get(c), (c, v) => set(c, (long)v), help);

    private static Setting D(string name, Func<NodeConfig, TimeSpan> get, Action<NodeConfig, TimeSpan> set, string help) =>
        new(name, Kind.Duration, c => get(c), (c, v) => set(c, (TimeSpan)v), help);

    private static Setting List(string name, Func<NodeConfig, IReadOnlyList<string>> get, Action<NodeConfig, IReadOnlyList<string>> set, string help) =>
        new(name, Kind.List, c => get(c), (c, v) => set(c, (IReadOnlyList<string>)v), help);

    /// <summary>Every setting read, in the order <see cref="Write"/> writes them; the name is the TOML key path.</summary>
    private static readonly Setting[] Settings =
    [
        S("moniker", c => c.Moniker, (c, v) => c.Moniker = v, "A custom human readable name for this node"),
        S("log_level", c => c.LogLevel, (c, v) => c.LogLevel = v, "Output level for logging: debug, info, error or none (--log-level overrides it)"),
        S("log_format", c => c.LogFormat, (c, v) => c.LogFormat = v, "Output format: 'plain' (colored text) or 'json' (--log-format overrides it)"),
        S("genesis_file", c => c.GenesisFile, (c, v) => c.GenesisFile = v, "Path to the JSON file containing the initial validator set and other meta data (only its chain_id is read)"),
        S("node_key_file", c => c.NodeKeyFile, (c, v) => c.NodeKeyFile = v, "Path to the JSON file containing the private key to use for node authentication in the p2p protocol"),

        S("rpc.laddr", c => c.Rpc.Laddr, (c, v) => c.Rpc.Laddr = v, "TCP address for the status API (/net_info, /status, /health); empty = off. Keep it on loopback: it is not authenticated"),

        S("p2p.laddr", c => c.P2P.ListenAddress, (c, v) => c.P2P.ListenAddress = v, "Address to listen for incoming connections"),
        S("p2p.external_address", c => c.P2P.ExternalAddress, (c, v) => c.P2P.ExternalAddress = v, "Address to advertise to peers for them to dial. If empty, the bound address (or the NAT mapping) is advertised"),
        List("p2p.seeds", c => c.Pex.Seeds, (c, v) => c.Pex.Seeds = v, "Comma separated list of seed nodes to connect to"),
        List("p2p.persistent_peers", c => c.P2P.PersistentPeers, (c, v) => c.P2P.PersistentPeers = v, "Comma separated list of nodes to keep persistent connections to"),
        S("p2p.addr_book_file", c => c.Pex.AddrBookFile, (c, v) => c.Pex.AddrBookFile = v, "Path to address book"),
        B("p2p.addr_book_strict", c => c.Pex.AddrBookStrict, (c, v) => c.Pex.AddrBookStrict = v, "Set true for strict address routability rules\n# Set false for private or local networks"),
        I("p2p.max_num_inbound_peers", c => c.P2P.MaxNumInboundPeers, (c, v) => c.P2P.MaxNumInboundPeers = v, "Maximum number of inbound peers"),
        I("p2p.max_num_outbound_peers", c => c.P2P.MaxNumOutboundPeers, (c, v) => c.P2P.MaxNumOutboundPeers = v, "Maximum number of outbound peers to connect to, excluding persistent peers"),
        List("p2p.unconditional_peer_ids", c => c.P2P.UnconditionalPeerIds, (c, v) => c.P2P.UnconditionalPeerIds = v, "List of node IDs, to which a connection will be (re)established ignoring any existing limits"),
        D("p2p.persistent_peers_max_dial_period", c => c.P2P.PersistentPeersMaxDialPeriod, (c, v) => c.P2P.PersistentPeersMaxDialPeriod = v, "Maximum pause when redialing a persistent peer (if zero, exponential backoff is used, capped at 1h)"),
        D("p2p.flush_throttle_timeout", c => c.MConnection.FlushThrottleTimeout, (c, v) => c.MConnection.FlushThrottleTimeout = v, "Time to wait before flushing messages out on the connection (Switchboard flushes as soon as the send queues drain, never later)"),
        I("p2p.max_packet_msg_payload_size", c => c.MConnection.MaxPacketMsgPayloadSize, (c, v) => c.MConnection.MaxPacketMsgPayloadSize = v, "Maximum size of a message packet payload, in bytes"),
        L("p2p.send_rate", c => c.MConnection.SendRate, (c, v) => c.MConnection.SendRate = v, "Rate at which packets can be sent, in bytes/second (0 = unlimited; CometBFT writes 5120000)"),
        L("p2p.recv_rate", c => c.MConnection.RecvRate, (c, v) => c.MConnection.RecvRate = v, "Rate at which packets can be received, in bytes/second (0 = unlimited; CometBFT writes 5120000)"),
        B("p2p.pex", c => c.Pex.Enabled, (c, v) => c.Pex.Enabled = v, "Set true to enable the peer-exchange reactor"),
        B("p2p.seed_mode", c => c.Pex.SeedMode, (c, v) => c.Pex.SeedMode = v, "Seed mode, in which node constantly crawls the network and looks for\n# peers. If another node asks it for addresses, it responds and disconnects.\n#\n# Does not work if the peer-exchange reactor is disabled."),
        List("p2p.private_peer_ids", c => c.P2P.PrivatePeerIds, (c, v) => c.P2P.PrivatePeerIds = v, "Comma separated list of peer IDs to keep private (will not be gossiped to other peers)"),
        B("p2p.allow_duplicate_ip", c => c.P2P.AllowDuplicateIp, (c, v) => c.P2P.AllowDuplicateIp = v, "Toggle to disable guard against peers connecting from the same ip."),
        D("p2p.handshake_timeout", c => c.P2P.HandshakeTimeout, (c, v) => c.P2P.HandshakeTimeout = v, "Peer connection configuration."),
        D("p2p.dial_timeout", c => c.P2P.DialTimeout, (c, v) => c.P2P.DialTimeout = v, ""),

        B("instrumentation.prometheus", c => c.Instrumentation.Prometheus, (c, v) => c.Instrumentation.Prometheus = v, "When true, Prometheus metrics are served under /metrics on\n# PrometheusListenAddr (--metrics-addr sets both)."),
        S("instrumentation.prometheus_listen_addr", c => c.Instrumentation.PrometheusListenAddr, (c, v) => c.Instrumentation.PrometheusListenAddr = v, "Address to listen for Prometheus collector(s) connections"),
        I("instrumentation.max_open_connections", c => c.Instrumentation.MaxOpenConnections, (c, v) => c.Instrumentation.MaxOpenConnections = v, "Maximum number of simultaneous connections.\n# 0 - unlimited."),
        S("instrumentation.namespace", c => c.Instrumentation.Namespace, (c, v) => c.Instrumentation.Namespace = v, "Instrumentation namespace"),

        S("switchboard.otlp_endpoint", c => c.Instrumentation.OtlpEndpoint, (c, v) => c.Instrumentation.OtlpEndpoint = v, "Push the metrics by OTLP (gRPC) to this endpoint, e.g. \"http://127.0.0.1:4317\"; empty = off (--otlp-endpoint)"),
        S("switchboard.chain_id", c => c.ChainId, (c, v) => c.ChainId = v, "Chain ID (NodeInfo network); peers must be on the same one. Empty: the genesis file's chain_id, else \"switchboard\""),
        S("switchboard.echo_channel", c => c.Diagnostics.EchoChannel, (c, v) => c.Diagnostics.EchoChannel = v, "Channel (e.g. \"0x77\") on which every message is sent back to its sender; empty = off (--echo)"),
        B("switchboard.nat", c => c.P2P.Nat, (c, v) => c.P2P.Nat = v, "Map the listen port on the gateway (NAT-PMP, then UPnP IGD) and advertise the external endpoint (--nat)"),
        B("switchboard.nat_allow_private_external", c => c.P2P.NatAllowPrivateExternal, (c, v) => c.P2P.NatAllowPrivateExternal = v, "With nat, accept a gateway whose external address is private or reserved (a gateway itself behind NAT)"),
        I("switchboard.max_incoming_connections", c => c.P2P.MaxIncomingConnections, (c, v) => c.P2P.MaxIncomingConnections = v, "Connections (handshaking or established) the listener holds at once; raised to max_num_inbound_peers + unconditional peers"),
        D("switchboard.dial_jitter", c => c.P2P.DialJitter, (c, v) => c.P2P.DialJitter = v, "Random delay before the first dial of each persistent peer, [0, this)"),
        I("switchboard.reconnect_max_attempts", c => c.P2P.ReconnectMaxAttempts, (c, v) => c.P2P.ReconnectMaxAttempts = v, "Give up redialing a persistent peer after this many attempts; 0 = never give up"),
        L("switchboard.shared_buffer_bytes", c => c.P2P.SharedBufferBytes, (c, v) => c.P2P.SharedBufferBytes = v, "Node-wide pool of inbound bytes beyond each peer's reserve (worst case: peers x reserve + this)"),

        D("switchboard.mconnection.ping_interval", c => c.MConnection.PingInterval, (c, v) => c.MConnection.PingInterval = v, "Interval between pings"),
        D("switchboard.mconnection.pong_timeout", c => c.MConnection.PongTimeout, (c, v) => c.MConnection.PongTimeout = v, "How long a pong may take; must be below ping_interval"),
        D("switchboard.mconnection.send_timeout", c => c.MConnection.SendTimeout, (c, v) => c.MConnection.SendTimeout = v, "How long a send waits for room in a channel's queue"),
        D("switchboard.mconnection.flush_coalescing_delay", c => c.MConnection.FlushCoalescingDelay, (c, v) => c.MConnection.FlushCoalescingDelay = v, "How long written packets may wait for more before a flush (0s = flush when the queues drain)"),
        I("switchboard.mconnection.write_buffer_size", c => c.MConnection.WriteBufferSize, (c, v) => c.MConnection.WriteBufferSize = v, "Output buffer size in bytes"),
        L("switchboard.mconnection.max_buffered_bytes", c => c.MConnection.MaxBufferedBytes, (c, v) => c.MConnection.MaxBufferedBytes = v, "Most inbound bytes held per peer (messages waiting for reactors, reassembly); at least every channel's largest message"),
        L("switchboard.mconnection.max_send_buffered_bytes", c => c.MConnection.MaxSendBufferedBytes, (c, v) => c.MConnection.MaxSendBufferedBytes = v, "Most bytes queued to one peer and not yet written"),
        L("switchboard.mconnection.reserved_buffer_bytes", c => c.MConnection.ReservedBufferBytes, (c, v) => c.MConnection.ReservedBufferBytes = v, "Inbound bytes each peer may hold without drawing on shared_buffer_bytes"),
        D("switchboard.mconnection.max_read_pause", c => c.MConnection.MaxReadPause, (c, v) => c.MConnection.MaxReadPause = v, "Longest pause of a peer's reads for a full back-pressure channel before it is dropped"),
        D("switchboard.mconnection.write_stall_timeout", c => c.MConnection.WriteStallTimeout, (c, v) => c.MConnection.WriteStallTimeout = v, "Longest time one write may make no progress before the peer is dropped"),
    ];

    private static readonly Dictionary<string, Setting> ByName = Settings.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>Tables whose every key must be one of <see cref="Settings"/>.</summary>
    private static readonly HashSet<string> ReadTables = ["p2p", "instrumentation", "switchboard", "switchboard.mconnection"];

    /// <summary>CometBFT's other tables, v0.34 to v1.x: accepted, not read (rpc is read for laddr only).</summary>
    private static readonly HashSet<string> IgnoredTables =
        ["rpc", "grpc", "mempool", "statesync", "blocksync", "fastsync", "consensus", "storage", "tx_index", "priv_validator", "p2p.test_fuzz_config"];

    /// <summary>CometBFT's base keys (v0.34 to v1.x) that Switchboard has no use for.</summary>
    private static readonly HashSet<string> IgnoredBaseKeys =
    [
        "version", "proxy_app", "fast_sync", "block_sync", "db_backend", "db_dir", "priv_validator_key_file",
        "priv_validator_state_file", "priv_validator_laddr", "abci", "filter_peers", "prof_laddr", "event_bus_buffer_capacity", "mode",
    ];

    /// <summary>CometBFT's test-only p2p keys: accepted, not used.</summary>
    private static readonly HashSet<string> IgnoredP2PKeys = ["p2p.test_dial_fail", "p2p.test_fuzz", "p2p.upnp"];

    /// <summary>
    /// Loads <paramref name="path"/>; a chain ID not given in the file comes from the genesis file (relative to
    /// <paramref name="home"/>) when there is one. Every problem is a <see cref="ConfigException"/>.
    /// </summary>
    public static NodeConfig Load(string path, string home)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new ConfigException($"{path}: no such file (run `switchboard init`)");
            if (info.Length > MaxSize) throw new ConfigException($"{path}: {info.Length} bytes is too large for a config file");
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: {ex.Message}", ex);
        }
        var (config, chainIdSet) = Parse(text, path);
        if (!chainIdSet) config.ChainId = ChainIdFromGenesis(Path.GetFullPath(Path.Combine(home, config.GenesisFile))) ?? NodeConfig.DefaultChainId;
        return config;
    }

    /// <summary>Parses TOML text; the flag says whether <c>switchboard.chain_id</c> was given (non-empty).</summary>
    public static (NodeConfig Config, bool ChainIdSet) Parse(string text, string source)
    {
        DocumentSyntax doc;
        try
        {
            doc = SyntaxParser.Parse(text, source, true);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The parser reports problems as diagnostics; this is only a safety net, without the exception's type.
            throw new ConfigException($"{source}: not a TOML file ({ex.Message})", ex);
        }
        if (doc.HasErrors)
        {
            var first = doc.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
            throw new ConfigException($"{source} line {first.Span.Start.Line + 1}: {first.Message}");
        }
        var config = new NodeConfig { ChainId = "" };
        foreach (var kv in doc.KeyValues) Apply(config, "", kv, source);
        foreach (var table in doc.Tables)
        {
            var name = KeyName(table.Name);
            var line = table.Span.Start.Line + 1;
            if (table is TableArraySyntax && (ReadTables.Contains(name) || IsKnownTable(name)))
                throw new ConfigException($"{source} line {line}: [[{name}]]: must be a table [{name}], not an array of tables");
            if (!ReadTables.Contains(name) && !IsKnownTable(name))
                throw new ConfigException($"{source} line {line}: [{name}]: unknown section (CometBFT's sections and [switchboard] are accepted)");
            foreach (var kv in table.Items) Apply(config, name, kv, source);
        }
        var chainIdSet = config.ChainId.Length > 0;
        if (!chainIdSet) config.ChainId = NodeConfig.DefaultChainId;
        return (config, chainIdSet);
    }

    private static bool IsKnownTable(string name) =>
        IgnoredTables.Contains(name) || IgnoredTables.Any(t => name.StartsWith(t + ".", StringComparison.Ordinal) && !ReadTables.Contains(t));

    private static void Apply(NodeConfig config, string table, KeyValueSyntax kv, string source)
    {
        var key = KeyName(kv.Key);
        var name = table.Length == 0 ? key : table + "." + key;
        var line = kv.Span.Start.Line + 1;
        if (ByName.TryGetValue(name, out var setting))
        {
            setting.Set(config, Convert(setting, kv.Value, source, line));
            return;
        }
        var section = name.Contains('.') ? name[..name.LastIndexOf('.')] : "";
        if (section.Length == 0 && IgnoredBaseKeys.Contains(name)) return;
        if (IgnoredP2PKeys.Contains(name)) return;
        if (!ReadTables.Contains(section) && !ReadTables.Contains(name.Split('.')[0]) && section.Length > 0 && IsKnownTable(section)) return;
        if (name.StartsWith("p2p.test_fuzz_config.", StringComparison.Ordinal)) return;
        var where = section.Length == 0 ? "at the top level" : $"in [{section}]";
        throw new ConfigException($"{source} line {line}: {name}: unknown key {where}");
    }

    private static object Convert(Setting setting, ValueSyntax? value, string source, int line)
    {
        ConfigException Wrong(string expected) =>
            new($"{source} line {line}: {setting.Name}: expected {expected}, found {Describe(value)}");

        switch (setting.Kind)
        {
            case Kind.String:
                return value is StringValueSyntax s ? s.Value ?? "" : throw Wrong("a string");
            case Kind.Bool:
                return value is BooleanValueSyntax b ? b.Value : throw Wrong("true or false");
            case Kind.Int:
                if (value is not IntegerValueSyntax i) throw Wrong("an integer");
                if (i.Value is < int.MinValue or > int.MaxValue)
                    throw new ConfigException($"{source} line {line}: {setting.Name}: {i.Value} is out of range");
                return (int)i.Value;
            case Kind.Long:
                return value is IntegerValueSyntax l ? l.Value : throw Wrong("an integer");
            case Kind.Duration:
                if (value is not StringValueSyntax d) throw Wrong("a duration string such as \"3s\" or \"100ms\"");
                return Duration.TryParse(d.Value, out var span, out var error)
                    ? span
                    : throw new ConfigException($"{source} line {line}: {setting.Name}: {error}");
            case Kind.List:
                if (value is StringValueSyntax csv)
                    return (IReadOnlyList<string>)[.. (csv.Value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                if (value is ArraySyntax array)
                {
                    var items = new List<string>();
                    foreach (var item in array.Items)
                        items.Add(item.Value is StringValueSyntax e ? e.Value ?? "" : throw Wrong("a comma-separated string or an array of strings"));
                    return items;
                }
                throw Wrong("a comma-separated string");
            default:
                throw new InvalidOperationException("unreachable");
        }
    }

    private static string Describe(ValueSyntax? value) => value switch
    {
        StringValueSyntax s => $"the string \"{s.Value}\"",
        IntegerValueSyntax i => $"the integer {i.Value.ToString(CultureInfo.InvariantCulture)}",
        BooleanValueSyntax b => b.Value ? "true" : "false",
        FloatValueSyntax => "a floating-point number",
        ArraySyntax => "an array",
        InlineTableSyntax => "a table",
        DateTimeValueSyntax => "a date",
        _ => "nothing",
    };

    private static string KeyName(KeySyntax? key)
    {
        if (key is null) return "";
        var sb = new StringBuilder(Part(key.Key));
        foreach (var dotted in key.DotKeys) sb.Append('.').Append(Part(dotted.Key));
        return sb.ToString();
    }

    private static string Part(BareKeyOrStringValueSyntax? part) => part switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => "",
    };

    /// <summary>
    /// The <c>chain_id</c> of a CometBFT genesis file, or null when there is no such file. Only the start of the
    /// file is read: a real chain's genesis can be hundreds of MB, and CometBFT writes <c>chain_id</c> second.
    /// </summary>
    private static string? ChainIdFromGenesis(string path)
    {
        if (!File.Exists(path)) return null;
        var buffer = new byte[64 * 1024];
        int length;
        try
        {
            using var stream = File.OpenRead(path);
            length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"genesis_file {path}: {ex.Message}", ex);
        }
        var reader = new Utf8JsonReader(buffer.AsSpan(0, length), isFinalBlock: length < buffer.Length, default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("chain_id"u8))
                {
                    if (reader.Read() && reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } chainId) return chainId;
                    break;
                }
            }
        }
        catch (JsonException)
        {
            // Reported below, without the parser's internals.
        }
        throw new ConfigException($"genesis_file {path}: no chain_id found at its start; set switchboard.chain_id in config.toml");
    }

    /// <summary>
    /// The whole file for <paramref name="config"/>: every setting with a comment, CometBFT's sections first and in
    /// CometBFT's order, then <c>[switchboard]</c>.
    /// </summary>
    public static string Write(NodeConfig config)
    {
        var sb = new StringBuilder();
        sb.Append("""
            # Switchboard node configuration, in CometBFT's config.toml format: the same keys with the same meanings,
            # so a CometBFT home can be run as it is (switchboard start --home ~/.cometbft). Sections CometBFT has and
            # Switchboard does not use (mempool, consensus, ...) are accepted and ignored; an unknown key in the
            # sections below is an error. Switchboard's own settings are in [switchboard] (CometBFT ignores it).
            # Flags of 'switchboard start' override these values. Durations: 500ms, 3s, 1m30s, 1h.

            """).Append('\n');
        var table = "";
        foreach (var setting in Settings)
        {
            var dot = setting.Name.LastIndexOf('.');
            var section = setting.Name.StartsWith("switchboard.mconnection.", StringComparison.Ordinal) ? "switchboard.mconnection"
                : dot < 0 ? "" : setting.Name[..setting.Name.IndexOf('.')];
            if (section != table)
            {
                table = section;
                sb.Append('[').Append(table).Append("]\n\n");
            }
            if (setting.Help.Length > 0) sb.Append("# ").Append(setting.Help).Append('\n');
            sb.Append(setting.Name[(section.Length == 0 ? 0 : section.Length + 1)..]).Append(" = ").Append(Format(setting, setting.Get(config))).Append("\n\n");
        }
        return sb.ToString();
    }

    private static string Format(Setting setting, object value) => setting.Kind switch
    {
        Kind.String => Quote((string)value),
        Kind.Bool => (bool)value ? "true" : "false",
        Kind.Int => ((int)value).ToString(CultureInfo.InvariantCulture),
        Kind.Long => ((long)value).ToString(CultureInfo.InvariantCulture),
        Kind.Duration => Quote(Duration.Format((TimeSpan)value)),
        Kind.List => Quote(string.Join(',', (IReadOnlyList<string>)value)),
        _ => throw new InvalidOperationException("unreachable"),
    };

    /// <summary>A TOML basic string.</summary>
    private static string Quote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case < ' ' or '\u007f': sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Writes the file through a temporary file and a rename, so a crash never leaves half a config.</summary>
    public static void Save(NodeConfig config, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        File.WriteAllText(temp, Write(config), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, full, overwrite: true);
    }
}
