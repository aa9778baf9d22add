namespace Switchboard.Peers;

/// <summary>A change in the peer set, published by the Switch in order.</summary>
/// <param name="Peer">The peer concerned.</param>
public abstract record PeerEvent(IPeer Peer);

/// <summary>A peer was added (reactors' AddPeer has run).</summary>
public sealed record PeerAdded(IPeer Peer) : PeerEvent(Peer);

/// <summary>A peer was removed (reactors' RemovePeer has run).</summary>
public sealed record PeerRemoved(IPeer Peer, DisconnectReason Reason) : PeerEvent(Peer);

/// <summary>
/// Messages from <paramref name="Peer"/> on a <see cref="Conn.ChannelFullMode.DropNewest"/> channel were dropped because
/// its budget was full. Published at most once per heartbeat per peer and channel, with running totals.
/// </summary>
/// <param name="Peer">The sender whose messages were dropped.</param>
/// <param name="ChannelId">The channel.</param>
/// <param name="TotalDropped">Messages dropped from this peer on this channel since it connected.</param>
/// <param name="TotalBytesDropped">Their bytes, as far as they had arrived.</param>
public sealed record MessagesDropped(IPeer Peer, byte ChannelId, long TotalDropped, long TotalBytesDropped) : PeerEvent(Peer);
