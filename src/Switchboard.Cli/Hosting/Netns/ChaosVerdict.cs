namespace Switchboard.Cli.Hosting.Netns;

/// <summary>
/// The reconnection after one heal (or a node's return, or the first formation): done when every running node has
/// delivered a gossip message of every other running node that was sent after <see cref="SinceMs"/>, i.e. the network
/// carries everyone's traffic to everyone again. The time is measured to the status line that showed the last pair
/// (nodes report every status interval: the resolution).
/// </summary>
/// <param name="Label">"formation", "heal after partition", "restart of node-3", …</param>
/// <param name="AtSeconds">When it began, in seconds from the start of the faults phase (negative: before it).</param>
/// <param name="ReconnectSeconds">Time to reconnect; null if it did not within the reconnect timeout.</param>
/// <param name="Pending">Pairs "receiver&lt;-origin" still missing at the deadline (at most 10 shown).</param>
internal sealed record ChaosRecovery(string Label, double AtSeconds, double? ReconnectSeconds, IReadOnlyList<string> Pending)
{
    public bool Ok => ReconnectSeconds is not null;

    internal long SinceMs { get; init; }
}

/// <summary>Totals over every node and process the run had.</summary>
/// <param name="Published">Own messages of all nodes.</param>
/// <param name="Delivered">First copies delivered (a message counts once per receiving node).</param>
/// <param name="Corrupted">Messages whose checksum did not match. Must be 0.</param>
/// <param name="Duplicates">Further copies of delivered messages (other paths): expected, dropped.</param>
/// <param name="ReorderedWithinChannel">Messages that came on one connection before one queued earlier on it. Must be 0.</param>
/// <param name="ChannelGaps">Messages queued on a connection that did not come on it while it lived (receive-side drops).</param>
/// <param name="Late">First copies that arrived after a higher-numbered message of the same origin (path races): expected.</param>
/// <param name="Lost">Messages a node never got: gaps in what it heard of an origin, plus the tail at the end, plus whole streams of running nodes never heard. Gossip does not resend, so traffic published while a node was cut off from its origin is lost by design: reported, not judged.</param>
/// <param name="DroppedSends">Sends refused by a full queue of a connected peer.</param>
/// <param name="Malformed">Messages on the channel that were not gossip.</param>
internal sealed record ChaosTotals(long Published, long Delivered, long Corrupted, long Duplicates, long ReorderedWithinChannel, long ChannelGaps,
    long Late, long Lost, long DroppedSends, long Malformed);

/// <summary>A node at the end of the run.</summary>
internal sealed record ChaosNodeReport(string Name, string Id, string Address, int Processes, bool RunningAtEnd, IReadOnlyList<string> Peers,
    long Published, long Delivered, long Corrupted, long ReorderedWithinChannel);

/// <summary>The verdict of <c>testnet --netns</c>; <see cref="Ok"/> is the test.</summary>
internal sealed record ChaosReport(
    bool Ok,
    string Status,
    int NodeCount,
    string Link,
    double DurationSeconds,
    double? FormedAfterSeconds,
    ChaosTotals Totals,
    LinkCounters Links,
    IReadOnlyList<string> Faults,
    IReadOnlyList<ChaosRecovery> Recoveries,
    IReadOnlyList<ChaosNodeReport> Nodes,
    string? Home);
