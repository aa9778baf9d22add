using Switchboard.Conn;

namespace Switchboard.Cli.Config;

/// <summary>
/// The node's settings, read from CometBFT's <c>config/config.toml</c> (<see cref="ConfigToml"/>): CometBFT's keys
/// with CometBFT's meanings and defaults where CometBFT has them, Switchboard's own in a <c>[switchboard]</c> section
/// (CometBFT ignores it, so one file can serve both). <c>switchboard init</c> writes it in full; <c>start</c> reads
/// it and its flags override it. The sections here group the settings by what they configure, not by the TOML table
/// they come from (e.g. <see cref="PexConfig.Seeds"/> is CometBFT's <c>p2p.seeds</c>).
/// </summary>
internal sealed record NodeConfig
{
    /// <summary>Human-readable node name (printable ASCII), advertised in NodeInfo (<c>moniker</c>).</summary>
    public string Moniker { get; set; } = DefaultMoniker();

    /// <summary>
    /// Chain ID: NodeInfo <c>network</c>; peers must be on the same one. <c>switchboard.chain_id</c>, else the
    /// <c>chain_id</c> of the home's genesis file (a CometBFT home), else "switchboard".
    /// </summary>
    public string ChainId { get; set; } = DefaultChainId;

    /// <summary>The chain ID when neither the file nor a genesis file names one.</summary>
    public const string DefaultChainId = "switchboard";

    /// <summary>CometBFT's <c>log_level</c>: <c>info</c>, <c>debug</c>, <c>error</c>, <c>none</c> (or <c>*:info,p2p:debug</c>, whose <c>*</c> part is used).</summary>
    public string LogLevel { get; set; } = "info";

    /// <summary>CometBFT's <c>log_format</c>: <c>plain</c> or <c>json</c>.</summary>
    public string LogFormat { get; set; } = "plain";

    /// <summary>The node key, relative to the home unless absolute (<c>node_key_file</c>). Default <c>config/node_key.json</c>.</summary>
    public string NodeKeyFile { get; set; } = "config/node_key.json";

    /// <summary>Where the chain ID is read from when <c>switchboard.chain_id</c> is empty (<c>genesis_file</c>).</summary>
    public string GenesisFile { get; set; } = "config/genesis.json";

    /// <summary>Listening, peers, limits, timeouts, NAT.</summary>
    public P2PConfig P2P { get; set; } = new();

    /// <summary>Settings of every peer connection (CometBFT's MConnConfig).</summary>
    public MConnectionConfig MConnection { get; set; } = new();

    /// <summary>Peer exchange: the PEX reactor and address book of <c>start</c>.</summary>
    public PexConfig Pex { get; set; } = new();

    /// <summary>Diagnostic reactors.</summary>
    public DiagnosticsConfig Diagnostics { get; set; } = new();

    /// <summary>The status API (<c>[rpc]</c>).</summary>
    public RpcConfig Rpc { get; set; } = new();

    /// <summary>Metrics (<c>[instrumentation]</c>).</summary>
    public InstrumentationConfig Instrumentation { get; set; } = new();

    /// <summary>The machine name when it is a valid moniker, else "switchboard" (CometBFT defaults to the host name).</summary>
    private static string DefaultMoniker()
    {
        var name = Environment.MachineName;
        return name.Length is > 0 and <= 64 && name.All(c => c is > ' ' and <= '~') ? name : "switchboard";
    }
}

/// <summary>The <c>p2p</c> section.</summary>
internal sealed record P2PConfig
{
    /// <summary>Where to listen: <c>tcp://IP:PORT</c>. Default <c>tcp://0.0.0.0:26656</c> (CometBFT's laddr).</summary>
    public string ListenAddress { get; set; } = "tcp://0.0.0.0:26656";

    /// <summary><c>HOST:PORT</c> advertised to peers instead of the bound address; empty = the bound address (or the NAT mapping).</summary>
    public string ExternalAddress { get; set; } = "";

    /// <summary><c>id@host:port</c> peers dialed at start and redialed whenever they go away.</summary>
    public IReadOnlyList<string> PersistentPeers { get; set; } = [];

    /// <summary>Node IDs exempt from the inbound/outbound limits.</summary>
    public IReadOnlyList<string> UnconditionalPeerIds { get; set; } = [];

    /// <summary>Node IDs whose addresses are never gossiped.</summary>
    public IReadOnlyList<string> PrivatePeerIds { get; set; } = [];

    /// <summary>Most inbound peers (unconditional ones not counted). Default 40.</summary>
    public int MaxNumInboundPeers { get; set; } = 40;

    /// <summary>Outbound target for peer discovery. Default 10.</summary>
    public int MaxNumOutboundPeers { get; set; } = 10;

    /// <summary>Connections (handshaking or established) the listener holds at once. Default 50.</summary>
    public int MaxIncomingConnections { get; set; } = 50;

    /// <summary>Allow several peers from one IP address. Default false.</summary>
    public bool AllowDuplicateIp { get; set; }

    /// <summary>Node-wide pool of inbound bytes beyond each peer's reserve (<c>switchboard.shared_buffer_bytes</c>).
    /// Default 268435456 (256 MiB).</summary>
    public long SharedBufferBytes { get; set; } = new SwitchOptions().SharedBufferBytes;

    /// <summary>TCP connect limit. Default 3s.</summary>
    public TimeSpan DialTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Limit for the secret-connection handshake and NodeInfo exchange. Default 20s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Random delay before the first dial of each persistent peer, [0, this). Default 3s.</summary>
    public TimeSpan DialJitter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Longest wait between redials of a persistent peer (<c>persistent_peers_max_dial_period</c>); 0 (CometBFT's
    /// default) = the exponential backoff, which Switchboard caps at 1h.
    /// </summary>
    public TimeSpan PersistentPeersMaxDialPeriod { get; set; }

    /// <summary>Give up redialing a persistent peer after this many attempts; 0 (default) = never give up.</summary>
    public int ReconnectMaxAttempts { get; set; }

    /// <summary>Map the listen port on the gateway (UPnP IGD or NAT-PMP) and advertise the external endpoint. Default false.</summary>
    public bool Nat { get; set; }

    /// <summary>
    /// With <see cref="Nat"/>, accept a gateway whose external address is private or reserved (the gateway is itself
    /// behind NAT, so the mapping is only reachable from that outer network). Default false: such a gateway is
    /// reported and the node runs without a mapping.
    /// </summary>
    public bool NatAllowPrivateExternal { get; set; }
}

/// <summary>The <c>mconnection</c> section; defaults are <see cref="MConnectionOptions"/>'s.</summary>
internal sealed record MConnectionConfig
{
    /// <summary>Largest packet payload; both ends must agree. Default 1024.</summary>
    public int MaxPacketMsgPayloadSize { get; set; } = MConnectionOptions.Default.MaxPacketMsgPayloadSize;

    /// <summary>Send limit in bytes/s, 0 = unlimited (default). CometBFT's config default is 5120000.</summary>
    public long SendRate { get; set; } = MConnectionOptions.Default.SendRate;

    /// <summary>Receive limit in bytes/s, 0 = unlimited (default). CometBFT's config default is 5120000.</summary>
    public long RecvRate { get; set; } = MConnectionOptions.Default.RecvRate;

    /// <summary>Interval between pings. Default 60s.</summary>
    public TimeSpan PingInterval { get; set; } = MConnectionOptions.Default.PingInterval;

    /// <summary>How long a pong may take; must be below ping_interval. Default 45s.</summary>
    public TimeSpan PongTimeout { get; set; } = MConnectionOptions.Default.PongTimeout;

    /// <summary>How long a send waits for room in a channel's queue. Default 10s.</summary>
    public TimeSpan SendTimeout { get; set; } = MConnectionOptions.Default.SendTimeout;

    /// <summary>
    /// CometBFT's <c>flush_throttle_timeout</c>, the longest a written message waits before it is flushed. Accepted
    /// and checked; Switchboard flushes as soon as the send queues drain, which is never later. Default 100ms.
    /// </summary>
    public TimeSpan FlushThrottleTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long written packets may wait for more before a flush. Default 0s (flush when the queues drain).</summary>
    public TimeSpan FlushCoalescingDelay { get; set; } = MConnectionOptions.Default.FlushCoalescingDelay;

    /// <summary>Output buffer size in bytes. Default 65536.</summary>
    public int WriteBufferSize { get; set; } = MConnectionOptions.Default.WriteBufferSize;

    /// <summary>Most inbound bytes held per peer (waiting messages, reassembly). Default 33554432 (32 MiB).</summary>
    public long MaxBufferedBytes { get; set; } = MConnectionOptions.Default.MaxBufferedBytes;

    /// <summary>Most bytes queued to one peer and not yet written. Default 16777216 (16 MiB).</summary>
    public long MaxSendBufferedBytes { get; set; } = MConnectionOptions.Default.MaxSendBufferedBytes;

    /// <summary>Inbound bytes a peer may hold without drawing on the node-wide pool. Default 1048576 (1 MiB).</summary>
    public long ReservedBufferBytes { get; set; } = MConnectionOptions.Default.ReservedBufferBytes;

    /// <summary>Longest pause of a peer's reads for a full back-pressure channel before it is dropped. Default 30s.</summary>
    public TimeSpan MaxReadPause { get; set; } = MConnectionOptions.Default.MaxReadPause;

    /// <summary>Longest time one write may make no progress before the peer is dropped. Default 30s.</summary>
    public TimeSpan WriteStallTimeout { get; set; } = MConnectionOptions.Default.WriteStallTimeout;
}

/// <summary>Peer exchange: CometBFT's <c>p2p.pex</c>, <c>seeds</c>, <c>seed_mode</c>, <c>addr_book_file</c>, <c>addr_book_strict</c>.</summary>
internal sealed record PexConfig
{
    /// <summary>Run the PEX reactor (and keep an address book). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>id@host:port</c> seed nodes asked for addresses when the address book needs more.</summary>
    public IReadOnlyList<string> Seeds { get; set; } = [];

    /// <summary>Crawl the network and hand out addresses, disconnecting peers after answering. Default false.</summary>
    public bool SeedMode { get; set; }

    /// <summary>Address book file (CometBFT's format), relative to the home directory unless absolute. Default <c>config/addrbook.json</c>.</summary>
    public string AddrBookFile { get; set; } = "config/addrbook.json";

    /// <summary>Keep only routable addresses in the address book. Default true (false for private and loopback networks).</summary>
    public bool AddrBookStrict { get; set; } = true;
}

/// <summary>Diagnostic reactors (<c>switchboard.echo_channel</c>).</summary>
internal sealed record DiagnosticsConfig
{
    /// <summary>Channel (<c>"0x77"</c>) on which every message is sent back to its sender; empty (default) = off.</summary>
    public string EchoChannel { get; set; } = "";
}

/// <summary>The <c>[rpc]</c> section: the status API (<c>/net_info</c>, <c>/status</c>, <c>/health</c>).</summary>
internal sealed record RpcConfig
{
    /// <summary><c>tcp://IP:PORT</c> to serve on; empty = off. Default <c>tcp://127.0.0.1:26657</c> (CometBFT's; loopback only).</summary>
    public string Laddr { get; set; } = "tcp://127.0.0.1:26657";
}

/// <summary>The <c>[instrumentation]</c> section (CometBFT's names and defaults).</summary>
internal sealed record InstrumentationConfig
{
    /// <summary>Serve Prometheus metrics under <c>/metrics</c>. Default false.</summary>
    public bool Prometheus { get; set; }

    /// <summary>Where to serve them: <c>:26660</c> (all interfaces) or <c>IP:PORT</c>. Default <c>:26660</c>.</summary>
    public string PrometheusListenAddr { get; set; } = ":26660";

    /// <summary>Most simultaneous scrape connections, 0 = unlimited. Default 3.</summary>
    public int MaxOpenConnections { get; set; } = 3;

    /// <summary>
    /// CometBFT's metric name prefix. Default <c>cometbft</c>. Accepted and checked; the library's metric names are
    /// fixed (<c>cometbft_p2p_*</c>, <c>switchboard_p2p_*</c>), so only the default is meaningful.
    /// </summary>
    public string Namespace { get; set; } = "cometbft";

    /// <summary>OTLP endpoint to push metrics to (Switchboard's, <c>switchboard.otlp_endpoint</c>), e.g. <c>http://127.0.0.1:4317</c>; empty = off.</summary>
    public string OtlpEndpoint { get; set; } = "";
}
