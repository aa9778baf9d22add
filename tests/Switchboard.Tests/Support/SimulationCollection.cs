namespace Switchboard.Tests.Support;

/// <summary>
/// Simulations of hundreds of nodes run in this collection: alone, after the parallel tests. Sharing 2 cores and
/// the thread pool with them would only slow down every timing-sensitive test around them (handshake and ping
/// deadlines, retransmissions) without making the simulations faster.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SimulationCollection
{
    public const string Name = "simulations (run alone)";
}
