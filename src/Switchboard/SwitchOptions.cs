using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>How persistent peers are redialed (CometBFT's reconnectToPeer schedule, without its 24 h give-up by default).</summary>
public sealed record ReconnectPolicy
{
    /// <summary>Attempts of the fast phase, each followed by <see cref="FastInterval"/> + jitter. Default 20.</summary>
    public int FastAttempts { get; init; } = 20;

    /// <summary>Wait between fast attempts. Default 5 s.</summary>
    public TimeSpan FastInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Uniform random extra wait added to every wait, [0, Jitter). Default 3 s.</summary>
    public TimeSpan Jitter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Base of the exponential phase: before attempt i (1-based) wait Base^i seconds. Default 3.</summary>
    public double BackoffBase { get; init; } = 3;

    /// <summary>Upper bound of one exponential wait. Default 1 h: a peer that comes back is found within the hour.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Give up after this many attempts in all; null (default) retries forever. CometBFT gives up after 30 (~24 h).</summary>
    public int? MaxAttempts { get; init; }

    internal TimeSpan WaitBefore(int attempt, Random random)
    {
        var jitter = TimeSpan.FromTicks((long)(random.NextDouble() * Jitter.Ticks));
        if (attempt <= FastAttempts) return FastInterval + jitter;
        var exponent = attempt - FastAttempts;
        var seconds = Math.Pow(BackoffBase, exponent);
        var wait = seconds >= MaxBackoff.TotalSeconds ? MaxBackoff : TimeSpan.FromSeconds(seconds);
        return wait + jitter;
    }
}

/// <summary>Settings of a <see cref="Switch"/>. Defaults follow CometBFT's config.toml.</summary>
public sealed record SwitchOptions
{
    /// <summary>Chain ID advertised in NodeInfo and required of peers. Default "switchboard".</summary>
    public string Network { get; init; } = "switchboard";

    /// <summary>Human-readable node name. Default "switchboard".</summary>
    public string Moniker { get; init; } = "switchboard";

    /// <summary>Software version advertised in NodeInfo.</summary>
    public string Version { get; init; } = "0.38.19";

    /// <summary>Protocol versions advertised (p2p 8, block 11, app 0 by default).</summary>
    public ProtocolVersion ProtocolVersion { get; init; } = new(8, 11, 0);

    /// <summary>Address advertised as NodeInfo.listen_addr instead of the bound one (e.g. the NAT's external address).</summary>
    public string? ExternalAddress { get; init; }

    /// <summary>Most inbound peers (unconditional ones not counted). Default 40.</summary>
    public int MaxInboundPeers { get; init; } = 40;

    /// <summary>Outbound target used by peer discovery (persistent peers count, unconditional do not). Default 10.</summary>
    public int MaxOutboundPeers { get; init; } = 10;

    /// <summary>Peers to keep connected: dialed at start and redialed per <see cref="Reconnect"/>. Host names are re-resolved on every dial.</summary>
    public IReadOnlyList<DialAddress> PersistentPeers { get; init; } = [];

    /// <summary>IDs exempt from the peer limits.</summary>
    public IReadOnlyCollection<NodeId> UnconditionalPeerIds { get; init; } = [];

    /// <summary>IDs whose addresses (and addresses learned from them) are never gossiped or stored.</summary>
    public IReadOnlyCollection<NodeId> PrivatePeerIds { get; init; } = [];

    /// <summary>Allow several peers with one IP address. Default false (CometBFT's <c>allow_duplicate_ip</c>). Setting it
    /// here is enough: the Switch applies it to its transport too (as does <see cref="Transport.TransportOptions.AllowDuplicateIp"/>
    /// to the Switch: either one allows it for the node).</summary>
    public bool AllowDuplicateIp { get; init; }

    /// <summary>Persistent-peer redial schedule.</summary>
    public ReconnectPolicy Reconnect { get; init; } = new();

    /// <summary>Random start-up delay before dialing each persistent peer, [0, this). Default 3 s as CometBFT.</summary>
    public TimeSpan DialJitter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The node-wide inbound pool: bytes peers may hold beyond their <see cref="MConnectionOptions.ReservedBufferBytes"/>
    /// (each peer is also capped by <see cref="MConnectionOptions.MaxBufferedBytes"/>). Default 256 MiB, so a node with 40
    /// inbound and 10 outbound peers holds at most 50 × 1 MiB + 256 MiB = 306 MiB of peer data however they behave.
    /// Must be at least the largest channel's RecvMessageCapacity minus the reserve, so one such message can always
    /// arrive. When the pool is empty, only peers beyond their reserve meet their channel's full policy.
    /// </summary>
    public long SharedBufferBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Tick of the Switch's one heartbeat, which checks every peer's ping, pong, write-stall and paused-read
    /// timeouts and publishes drop events. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a graceful peer stop (<see cref="Switch.StopPeerGracefullyAsync"/>, a seed hanging up) may
    /// spend sending what is queued before the connection is closed anyway. Default 10 s.</summary>
    public TimeSpan GracefulStopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the Switch's meter comes from (a host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/>); null:
    /// the Switch makes its own <see cref="System.Diagnostics.Metrics.Meter"/> named "Switchboard.P2P".</summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>Settings for every peer's MConnection.</summary>
    public MConnectionOptions Connection { get; init; } = new();

    /// <summary>
    /// The node's clock: reconnect waits and jitter, and — unless they set their own (anything other than
    /// <see cref="TimeProvider.System"/>) — every connection's timers (<see cref="MConnectionOptions.TimeProvider"/>)
    /// and the transport's timeouts (<see cref="Transport.TransportOptions.TimeProvider"/>). Setting one clock here is enough.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Source of jitter; tests pass a seeded one.</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Network)) throw new ArgumentException("Network (chain ID) must not be empty");
        if (MaxInboundPeers < 0 || MaxOutboundPeers < 0) throw new ArgumentException("peer limits must not be negative");
        if (Reconnect.FastAttempts < 0 || Reconnect.BackoffBase < 1) throw new ArgumentException("invalid reconnect policy");
        if (SharedBufferBytes < 0) throw new ArgumentException("SharedBufferBytes must not be negative");
        if (HeartbeatInterval <= TimeSpan.Zero) throw new ArgumentException("HeartbeatInterval must be positive");
        if (GracefulStopTimeout < TimeSpan.Zero) throw new ArgumentException("GracefulStopTimeout must not be negative");
        Connection.Validate();
    }
}
