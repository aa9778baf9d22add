using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>What the Switch does when a reactor's inbound queue is full.</summary>
public enum InboundFullMode
{
    /// <summary>Wait: the sending peer's connection stops reading until there is room (TCP back-pressure).</summary>
    BackPressure,
    /// <summary>Drop the message and disconnect the sending peer as too slow to serve.</summary>
    DisconnectPeer,
}

/// <summary>The bounded queue between the connections and a reactor's <see cref="Reactor.ReceiveAsync"/>.</summary>
public sealed record InboundQueueOptions
{
    /// <summary>Messages held before <see cref="FullMode"/> applies. Default 1024.</summary>
    public int Capacity { get; init; } = 1024;

    /// <summary>Policy when full. Default <see cref="InboundFullMode.BackPressure"/>.</summary>
    public InboundFullMode FullMode { get; init; } = InboundFullMode.BackPressure;
}

/// <summary>
/// An application protocol on one or more channels (CometBFT's Reactor). The Switch calls, per peer:
/// <see cref="InitPeer"/>, then starts the connection (so <see cref="ReceiveAsync"/> may run before
/// <see cref="AddPeerAsync"/>), then <see cref="AddPeerAsync"/>; on disconnect <see cref="RemovePeerAsync"/> after
/// the connection has stopped. <see cref="ReceiveAsync"/> runs on the reactor's own loop, one message at a time,
/// never on a connection's I/O loop: a slow reactor delays only its own queue.
/// </summary>
public abstract class Reactor
{
    /// <summary>Creates a reactor with a name used in logs.</summary>
    protected Reactor(string name) => Name = name;

    /// <summary>The reactor's name.</summary>
    public string Name { get; }

    /// <summary>The Switch this reactor was added to (set by <see cref="Switch.AddReactor"/>).</summary>
    public Switch? Switch { get; internal set; }

    /// <summary>Queue settings for inbound messages. Override to change them.</summary>
    public virtual InboundQueueOptions InboundQueue { get; } = new();

    /// <summary>The channels this reactor owns; ids must be unique across reactors.</summary>
    public abstract IReadOnlyList<ChannelDescriptor> GetChannels();

    /// <summary>Called when the Switch starts, before any peer is added.</summary>
    public virtual Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called when the Switch stops, after every peer was removed.</summary>
    public virtual Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Initialises per-peer state before the peer's connection starts. Must not block.</summary>
    public virtual void InitPeer(IPeer peer) { }

    /// <summary>The peer is connected and in the peer set.</summary>
    public virtual ValueTask AddPeerAsync(IPeer peer, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>The peer's connection has stopped.</summary>
    public virtual ValueTask RemovePeerAsync(IPeer peer, DisconnectReason reason, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>A complete message arrived on one of this reactor's channels. An exception disconnects the sender.</summary>
    public abstract ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken);
}
