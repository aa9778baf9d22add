using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Gossip;
using Switchboard.Pex;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>A peer in a <see cref="ChaosNodeStatus"/>.</summary>
internal sealed record ChaosPeer(string Id, bool Outbound);

/// <summary>One stream a node has heard (see <see cref="GossipStreamStats"/>), with Unix-ms times.</summary>
internal sealed record ChaosStream(string Origin, ulong Epoch, long Delivered, ulong Lowest, ulong Highest, long Missing, long NewestSentAtMs,
    long NewestDeliveredAtMs);

/// <summary>
/// What a chaos node prints on standard output, one JSON object per line, every status interval and once more when it
/// stops (<see cref="Final"/>): the coordinator judges the run from these lines alone.
/// </summary>
internal sealed record ChaosNodeStatus(long TimeMs, string Id, ulong Epoch, bool Final, IReadOnlyList<ChaosPeer> Peers, int Book,
    GossipCounters Gossip, IReadOnlyList<ChaosStream> Streams);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(ChaosNodeStatus))]
internal sealed partial class ChaosNodeJsonContext : JsonSerializerContext;

/// <summary>
/// A node of the chaos testnet, run by <c>switchboard testnet-node</c> inside its namespace: a <see cref="NodeHost"/> with
/// PEX (the testnet's fast timing, the address book saved every 5 s so that a node killed with SIGKILL rejoins) and a
/// <see cref="GossipAgent"/>. Standard input carries the coordinator's orders, one per line: <c>quiet</c> stops the
/// node's own gossip (relaying goes on); end of input stops the node (the coordinator is gone, or done).
/// </summary>
internal static class ChaosNode
{
    /// <summary>5 s: at most that much of the book's changes is lost by a SIGKILL.</summary>
    public static readonly TimeSpan AddrBookSaveInterval = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string home, TimeSpan gossipInterval, TimeSpan statusInterval, TextReader input, TextWriter output,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var nodeHome = new NodeHome(home);
        var config = nodeHome.LoadConfig();
        GossipAgent? gossip = null;
        var host = new NodeHost(config, nodeHome.LoadKey(config), loggerFactory, new NodeHostOptions
        {
            Home = nodeHome.Root,
            Reactors = [NodePex.Factory(new TestnetOptions { Root = home }.Pex, AddrBookSaveInterval)],
            BeforeStart = h => gossip = new GossipAgent(h, gossipInterval),
        });
        await using (host)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var quiet = new CancellationTokenSource();
            await host.StartAsync(stop.Token).ConfigureAwait(false);
            var g = gossip!;
            var receive = Task.Run(g.ReceiveLoopAsync, CancellationToken.None);
            using var sending = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, quiet.Token);
            var send = Task.Run(() => g.SendLoopAsync(sending.Token), CancellationToken.None);
            var orders = Task.Run(async () =>
            {
                while (await input.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
                    if (line.Trim() == "quiet") await quiet.CancelAsync().ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
            }, CancellationToken.None);
            var pex = NodePex.Of(host)!;
            using (var timer = new PeriodicTimer(statusInterval))
            {
                try
                {
                    do Write(output, Status(host, g, pex.Book, final: false));
                    while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false));
                }
                catch (OperationCanceledException)
                {
                    // SIGTERM, Ctrl-C or the end of standard input.
                }
            }
            await stop.CancelAsync().ConfigureAwait(false);
            await send.ConfigureAwait(false);
            // The last word before the peers go: what this node has seen, with the peers it ends with.
            Write(output, Status(host, g, pex.Book, final: true));
            await host.StopAsync().ConfigureAwait(false);
            await receive.ConfigureAwait(false);
            _ = orders; // ends with standard input, which the coordinator closes (or the process exits)
        }
        return ExitCodes.Ok;
    }

    private static void Write(TextWriter output, ChaosNodeStatus status)
    {
        output.WriteLine(JsonSerializer.Serialize(status, ChaosNodeJsonContext.Default.ChaosNodeStatus));
        output.Flush();
    }

    private static ChaosNodeStatus Status(NodeHost host, GossipAgent gossip, AddrBook book, bool final) => new(
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), host.Id.ToString(), gossip.Gossip.Epoch, final,
        host.Switch.Peers.Select(p => new ChaosPeer(p.Id.ToString(), p.IsOutbound)).ToList(), book.Size, gossip.Gossip.Counters,
        gossip.Gossip.Streams().Select(s => new ChaosStream(s.Stream.Origin.ToString(), s.Stream.Epoch, s.Delivered, s.Lowest, s.Highest, s.Missing,
            Ms(s.NewestSentAt), Ms(s.NewestDeliveredAt))).ToList());

    private static long Ms(DateTimeOffset t) => t == DateTimeOffset.MinValue ? 0 : t.ToUnixTimeMilliseconds();
}
