using Switchboard.Peers;

namespace Switchboard;

/// <summary>Arguments of <see cref="Switch.PeerMarkedGood"/>.</summary>
/// <remarks>
/// The library's events are all <see cref="EventHandler{TEventArgs}"/> with an <see cref="EventArgs"/> type (as
/// <see cref="Nat.PortMapper.MappingChanged"/>): the .NET convention (CA1003), and arguments can grow without
/// breaking subscribers. Streams of events a consumer reads at its own pace are <see cref="IAsyncEnumerable{T}"/>
/// instead (<see cref="Switch.WatchPeersAsync"/>).
/// </remarks>
public sealed class PeerMarkedGoodEventArgs(IPeer peer) : EventArgs
{
    /// <summary>The peer that was reported useful.</summary>
    public IPeer Peer { get; } = peer;
}
