namespace Switchboard.Peers;

/// <summary>A change in the peer set, published by the Switch in order.</summary>
/// <param name="Peer">The peer concerned.</param>
public abstract record PeerEvent(IPeer Peer);

/// <summary>A peer was added (reactors' AddPeer has run).</summary>
public sealed record PeerAdded(IPeer Peer) : PeerEvent(Peer);

/// <summary>A peer was removed (reactors' RemovePeer has run).</summary>
public sealed record PeerRemoved(IPeer Peer, DisconnectReason Reason) : PeerEvent(Peer);
