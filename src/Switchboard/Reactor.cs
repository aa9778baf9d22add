using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>
/// An application protocol on one or more channels (CometBFT's Reactor). The Switch calls, per peer:
/// <see cref="InitPeer"/>, then starts the connection (so <see cref="ReceiveAsync"/> may run before
/// <see cref="AddPeerAsync"/>), then <see cref="AddPeerAsync"/>; on disconnect <see cref="RemovePeerAsync"/> after
/// the connection has stopped. <see cref="ReceiveAsync"/> runs on the reactor's own loop, one message at a time,
/// never on a connection's I/O loop: a slow reactor delays only its own channels. Messages come from each peer's own
/// byte-bounded queue per channel (<see cref="ChannelDescriptor.RecvQueueBytes"/>, policy
/// <see cref="ChannelDescriptor.FullMode"/>), taken in round-robin order across peers, so one flooding peer cannot
/// starve the others. Per peer and channel the order is the arrival order.
/// </summary>
/// <remarks>Never await one peer's <see cref="IPeer.SendAsync"/> in <see cref="ReceiveAsync"/>: it holds up every other
/// peer's messages until that peer reads. Answer with <see cref="Envelope.Reply(ReadOnlyMemory{byte})"/> (never waits; disconnects a peer that
/// does not read its answers) or <see cref="IPeer.TrySend"/>.</remarks>
public abstract class Reactor
{
    /// <summary>Creates a reactor with a name used in logs.</summary>
    protected Reactor(string name) => Name = name;

    /// <summary>The reactor's name.</summary>
    public string Name { get; }

    /// <summary>The Switch this reactor was added to (set by <see cref="Switch.AddReactor"/>).</summary>
    public Switch? Switch { get; internal set; }

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
