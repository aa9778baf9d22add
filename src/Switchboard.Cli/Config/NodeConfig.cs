using System.Text.Json.Serialization;
using Switchboard.Conn;

namespace Switchboard.Cli.Config;

/// <summary>
/// The node's <c>config/config.json</c>: every setting with CometBFT's default where CometBFT has one. Written in
/// full by <c>switchboard init</c>, read by <c>start</c> (flags override it). Durations are Go-style text
/// (<c>"3s"</c>, <c>"100ms"</c>). Unknown properties are errors, so a typo cannot silently leave a default in place.
/// </summary>
internal sealed record NodeConfig
{
    /// <summary>Free text for people; ignored by the loader.</summary>
    public string? Comment { get; set; } =
        "Switchboard node configuration (JSON; // comments are allowed). Flags of 'switchboard start' override these " +
        "values. Durations: 500ms, 3s, 1m30s, 1h. Rates in bytes per second, 0 = unlimited. Documented in README.md.";

    /// <summary>Human-readable node name (printable ASCII), advertised in NodeInfo.</summary>
    public string Moniker { get; set; } = DefaultMoniker();

    /// <summary>Chain ID: NodeInfo <c>network</c>; peers must be on the same one.</summary>
    public string ChainId { get; set; } = "switchboard";

    /// <summary>Listening, peers, limits, timeouts, NAT.</summary>
    [JsonPropertyName("p2p")]
    public P2PConfig P2P { get; set; } = new();

    /// <summary>Settings of every peer connection (CometBFT's MConnConfig).</summary>
    [JsonPropertyName("mconnection")]
    public MConnectionConfig MConnection { get; set; } = new();

    /// <summary>Peer exchange: the PEX reactor and address book of <c>start</c>.</summary>
    public PexConfig Pex { get; set; } = new();

    /// <summary>Diagnostic reactors.</summary>
    public DiagnosticsConfig Diagnostics { get; set; } = new();

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

    /// <summary>TCP connect limit. Default 3s.</summary>
    public TimeSpan DialTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Limit for the secret-connection handshake and NodeInfo exchange. Default 20s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Random delay before the first dial of each persistent peer, [0, this). Default 3s.</summary>
    public TimeSpan DialJitter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Longest wait between redials of a persistent peer. Default 1h.</summary>
    public TimeSpan ReconnectMaxBackoff { get; set; } = TimeSpan.FromHours(1);

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

    /// <summary>How long written packets may wait for more before a flush. Default 0s (flush when the queues drain).</summary>
    public TimeSpan FlushCoalescingDelay { get; set; } = MConnectionOptions.Default.FlushCoalescingDelay;

    /// <summary>Output buffer size in bytes. Default 65536.</summary>
    public int WriteBufferSize { get; set; } = MConnectionOptions.Default.WriteBufferSize;

    /// <summary>Most bytes held per peer (inbound queues, reassembly, send queues). Default 33554432 (32 MiB).</summary>
    public long MaxBufferedBytes { get; set; } = MConnectionOptions.Default.MaxBufferedBytes;

    /// <summary>Longest pause of a peer's reads for a full back-pressure channel before it is dropped. Default 30s.</summary>
    public TimeSpan MaxReadPause { get; set; } = MConnectionOptions.Default.MaxReadPause;

    /// <summary>Longest time one write may make no progress before the peer is dropped. Default 30s.</summary>
    public TimeSpan WriteStallTimeout { get; set; } = MConnectionOptions.Default.WriteStallTimeout;
}

/// <summary>The <c>pex</c> section (CometBFT's names and defaults).</summary>
internal sealed record PexConfig
{
    /// <summary>Free text for people; ignored by the loader.</summary>
    public string? Comment { get; set; } =
        "Peer exchange (PEX, channel 0x00): find peers through seeds and other peers, keep max_num_outbound_peers " +
        "connected. Flags of switchboard start: --pex true|false, --seeds, --seed-mode.";

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

/// <summary>The <c>diagnostics</c> section.</summary>
internal sealed record DiagnosticsConfig
{
    /// <summary>Channel (<c>"0x77"</c>) on which every message is sent back to its sender; empty (default) = off.</summary>
    public string EchoChannel { get; set; } = "";
}
