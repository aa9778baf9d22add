namespace Switchboard.Conn;

/// <summary>
/// Settings of one <see cref="MConnection"/> (CometBFT's <c>MConnConfig</c>, PROTOCOL.md 2.1). Immutable; the
/// defaults are CometBFT's code defaults except where noted.
/// </summary>
public sealed record MConnectionOptions
{
    /// <summary>The defaults.</summary>
    public static MConnectionOptions Default { get; } = new();

    /// <summary>Packet framing; <see cref="PacketFraming.CometBft"/> (default) is the only one CometBFT speaks.</summary>
    public PacketFraming Framing { get; init; } = PacketFraming.CometBft;

    /// <summary>Largest fragment payload (config <c>max_packet_msg_payload_size</c>), default 1024. Both ends must
    /// agree: there is no negotiation and a larger packet disconnects the peer.</summary>
    public int MaxPacketMsgPayloadSize { get; init; } = 1024;

    /// <summary>Interval between our pings, default 60 s (CometBFT's code constant).</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a pong may take before the connection fails, default 45 s; must be below
    /// <see cref="PingInterval"/>.</summary>
    public TimeSpan PongTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>How long <see cref="MConnection.SendAsync"/> waits for room in a send queue, default 10 s.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Send limit in bytes per second of packet stream, enforced in 100 ms slices; 0 (default) = unlimited.
    /// CometBFT's config default is 5,120,000 (code fallback 512,000).</summary>
    public long SendRate { get; init; }

    /// <summary>Receive limit in bytes per second, enforced in 100 ms slices by pausing reads; 0 (default) =
    /// unlimited. CometBFT's config default is 5,120,000.</summary>
    public long RecvRate { get; init; }

    /// <summary>Every period each channel's recentlySent counter is multiplied by 0.8; default 2 s.</summary>
    public TimeSpan StatsDecayPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long written packets may wait for more before the buffer is flushed once the send queues are drained.
    /// Default <see cref="TimeSpan.Zero"/>: flush as soon as the queues drain (CometBFT waits a fixed 10–100 ms
    /// flush_throttle_timeout instead). Pings and pongs always flush at once.
    /// </summary>
    public TimeSpan FlushCoalescingDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Output buffer: packets are encoded into it and written to the transport in one call when it fills or
    /// the queues drain. Default 64 KiB (CometBFT's bufio writer); at least 4 × the largest packet.</summary>
    public int WriteBufferSize { get; init; } = 64 * 1024;

    /// <summary>
    /// Most inbound bytes the connection holds at once: complete messages waiting for consumers and reassembly
    /// buffers (the per-peer inbound budget). Default 32 MiB: room for one message of CometBFT's default
    /// <see cref="ChannelDescriptor.RecvMessageCapacity"/> (21 MiB) plus queues. Must be at least every channel's
    /// RecvMessageCapacity. An inbound message that would go over it applies its channel's <see cref="ChannelFullMode"/>.
    /// </summary>
    public long MaxBufferedBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// Most bytes of messages queued to the peer and not yet written (the per-peer send budget); a send that would go
    /// over it is refused (<see cref="MConnection.TrySend"/> false, <see cref="MConnection.SendAsync"/> waits). Default
    /// 16 MiB. Separate from <see cref="MaxBufferedBytes"/>, so what one peer can make us hold in all is the sum.
    /// </summary>
    public long MaxSendBufferedBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// The part of <see cref="MaxBufferedBytes"/> of inbound bytes a connection of a Switch may hold without drawing on
    /// the node-wide pool (<see cref="SwitchOptions.SharedBufferBytes"/>); default 1 MiB. A peer that stays within it is
    /// never refused because other peers emptied the pool (a reserve above MaxBufferedBytes means the pool is never
    /// used). Ignored by a standalone connection.
    /// </summary>
    public long ReservedBufferBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Longest time reading may stay paused for a full <see cref="ChannelFullMode.BackPressure"/> channel before the
    /// peer is disconnected as <see cref="Peers.DisconnectKind.LocalConsumerStalled"/>. Default 30 s: below CometBFT's
    /// 45 s pong timeout, so a CometBFT peer whose pings we cannot read meanwhile never times us out first.
    /// </summary>
    public TimeSpan MaxReadPause { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest time one transport write (at most <see cref="WriteBufferSize"/> bytes) or flush may take before the peer
    /// is disconnected as <see cref="Peers.DisconnectKind.WriteStalled"/> — it stopped reading, or the network is gone.
    /// Default 30 s (a 64 KiB write slower than about 2 KiB/s).
    /// </summary>
    public TimeSpan WriteStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Tick of the heartbeat that checks the timeouts of a standalone connection (a Switch uses
    /// <see cref="SwitchOptions.HeartbeatInterval"/>). Default 1 s; every timeout is checked to this precision.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Clock for every timer (heartbeat, flush coalescing, rate limits, send timeout); default
    /// <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range or values contradict.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Framing))
            throw new ArgumentException($"unknown Framing {Framing}");
        if (MaxPacketMsgPayloadSize <= 0 || MaxPacketMsgPayloadSize > 16 * 1024 * 1024)
            throw new ArgumentException("MaxPacketMsgPayloadSize must be in 1..16 MiB");
        if (PingInterval <= TimeSpan.Zero)
            throw new ArgumentException("PingInterval must be positive");
        // CometBFT panics at construction in this case: a pong could never arrive before the next ping.
        if (PongTimeout <= TimeSpan.Zero || PongTimeout >= PingInterval)
            throw new ArgumentException("PongTimeout must be positive and below PingInterval");
        if (SendTimeout < TimeSpan.Zero)
            throw new ArgumentException("SendTimeout must not be negative");
        if (SendRate < 0 || RecvRate < 0)
            throw new ArgumentException("SendRate and RecvRate must not be negative (0 = unlimited)");
        if (StatsDecayPeriod <= TimeSpan.Zero)
            throw new ArgumentException("StatsDecayPeriod must be positive");
        if (FlushCoalescingDelay < TimeSpan.Zero)
            throw new ArgumentException("FlushCoalescingDelay must not be negative");
        if (WriteBufferSize < 4 * (MaxPacketMsgPayloadSize + 16))
            throw new ArgumentException("WriteBufferSize must hold at least 4 packets");
        if (MaxBufferedBytes <= 0)
            throw new ArgumentException("MaxBufferedBytes must be positive");
        if (MaxSendBufferedBytes <= 0)
            throw new ArgumentException("MaxSendBufferedBytes must be positive");
        if (ReservedBufferBytes < 0)
            throw new ArgumentException("ReservedBufferBytes must not be negative");
        if (MaxReadPause <= TimeSpan.Zero)
            throw new ArgumentException("MaxReadPause must be positive");
        if (WriteStallTimeout <= TimeSpan.Zero)
            throw new ArgumentException("WriteStallTimeout must be positive");
        if (HeartbeatInterval <= TimeSpan.Zero)
            throw new ArgumentException("HeartbeatInterval must be positive");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
