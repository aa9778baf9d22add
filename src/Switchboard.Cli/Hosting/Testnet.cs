using System.Globalization;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Crypto;
using Switchboard.Pex;

namespace Switchboard.Cli.Hosting;

/// <summary>Settings of a <see cref="Testnet"/>.</summary>
internal sealed record TestnetOptions
{
    /// <summary>Nodes besides the seed.</summary>
    public int Nodes { get; init; } = 8;

    /// <summary>Seed port; node i listens on BasePort + i. 0: every node binds a free port.</summary>
    public int BasePort { get; init; }

    public const string DefaultChainId = "switchboard-testnet";

    public string ChainId { get; init; } = DefaultChainId;

    /// <summary>Directory that receives one home per node (seed, node-1, …).</summary>
    public required string Root { get; init; }

    /// <summary>Time between two gossip messages of one node. 500 ms: a few hundred small messages a second for eight nodes.</summary>
    public TimeSpan GossipInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// PEX timing of every node. CometBFT's 30 s ensure-peers period would make a fresh network take minutes to
    /// mesh; on loopback a 2 s period forms it in seconds. The request pacing follows the period, keeping the
    /// library's rules: our minimum between requests to one peer (1 s) stays above what a peer accepts
    /// (period / 3 − slack = 0.42 s). The seed crawls every 2 s and revisits an address after 10 s.
    /// </summary>
    public PexReactorOptions Pex { get; init; } = new()
    {
        EnsurePeersPeriod = TimeSpan.FromSeconds(2),
        MinRequestInterval = TimeSpan.FromSeconds(1),
        RequestIntervalSlack = TimeSpan.FromMilliseconds(250),
        CrawlPeriod = TimeSpan.FromSeconds(2),
        MinCrawlInterval = TimeSpan.FromSeconds(10),
    };
}

/// <summary>One node of a testnet.</summary>
internal sealed class TestnetNode(string name, NodeHost host, GossipAgent? gossip)
{
    public string Name { get; } = name;

    public NodeHost Host { get; } = host;

    /// <summary>Null for the seed, which does not gossip.</summary>
    public GossipAgent? Gossip { get; } = gossip;

    public PexReactor Pex { get; } = NodePex.Of(host) ?? throw new InvalidOperationException("a testnet node runs PEX");

    public bool IsSeed => Gossip is null;
}

/// <summary>A node's line of the testnet table.</summary>
/// <param name="Name">seed, node-1, …</param>
/// <param name="Id">Node ID.</param>
/// <param name="Listen">Bound address.</param>
/// <param name="Seed">True for the seed.</param>
/// <param name="PeersIn">Inbound peers (any).</param>
/// <param name="PeersOut">Outbound peers (any).</param>
/// <param name="NodePeers">Peers that are testnet nodes other than the seed.</param>
/// <param name="Book">Address book entries.</param>
/// <param name="KnownNodes">Other testnet nodes (seed excluded) this node has an address for or is connected to.</param>
/// <param name="GossipSent">Gossip messages queued (own and relayed); 0 for the seed.</param>
/// <param name="GossipReceived">Gossip messages received, duplicates included.</param>
/// <param name="BytesSent">Gossip payload bytes sent.</param>
/// <param name="BytesReceived">Gossip payload bytes received.</param>
/// <param name="OriginsHeard">Other nodes whose gossip reached this node.</param>
internal sealed record TestnetNodeStats(string Name, string Id, string Listen, bool Seed, int PeersIn, int PeersOut, int NodePeers,
    int Book, int KnownNodes, long GossipSent, long GossipReceived, long BytesSent, long BytesReceived, int OriginsHeard);

/// <summary>The state of the whole testnet at one moment, judged against the formation rule.</summary>
internal sealed record TestnetSnapshot(TimeSpan Elapsed, IReadOnlyList<TestnetNodeStats> Nodes, bool Formed, string Status)
{
    /// <summary>Connections between two non-seed nodes.</summary>
    public int Links => Nodes.Where(n => !n.Seed).Sum(n => n.NodePeers) / 2;
}

/// <summary>
/// A seed (seed mode) and N nodes on 127.0.0.1 in this process, each a <see cref="NodeHost"/> over TCP with its own
/// home, PEX (<see cref="TestnetOptions.Pex"/> timing, non-strict book, duplicate IPs allowed) and a
/// <see cref="GossipAgent"/>. Every node is given only the seed; they find each other by PEX.
/// </summary>
internal sealed class Testnet : IAsyncDisposable
{
    private readonly List<TestnetNode> _all = [];
    private readonly HashSet<NodeId> _nodeIds = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly long _started = TimeProvider.System.GetTimestamp();
    private int _stopped;

    private Testnet(TestnetOptions options) => Options = options;

    public TestnetOptions Options { get; }

    public TestnetNode Seed => _all[0];

    /// <summary>The nodes besides the seed.</summary>
    public IReadOnlyList<TestnetNode> Nodes => _all.Skip(1).ToList();

    /// <summary>The seed's id@127.0.0.1:port.</summary>
    public string SeedAddress => Seed.Host.ListenAddress!.ToString();

    public TimeSpan Elapsed => TimeProvider.System.GetElapsedTime(_started);

    /// <summary>Peers among the nodes each node needs: min(2, N − 1) (two unless there is only one other node).</summary>
    public int NeededPeers => Math.Min(2, Options.Nodes - 1);

    /// <summary>
    /// Other nodes' addresses each node needs to know: N − 1, capped at the outbound target (10): a node stops asking
    /// for addresses once its outbound slots are full, so in a larger network not everyone learns everyone.
    /// </summary>
    public int NeededKnown => Math.Min(Options.Nodes - 1, new P2PConfig().MaxNumOutboundPeers);

    /// <summary>Creates the homes and starts the seed, then the nodes. A port that cannot be bound throws <see cref="System.Net.Sockets.SocketException"/>.</summary>
    public static async Task<Testnet> StartAsync(TestnetOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        if (options.Nodes < 2) throw new ArgumentException("a testnet needs at least 2 nodes besides the seed");
        var net = new Testnet(options);
        try
        {
            await net.StartNodeAsync(0, null, loggerFactory, cancellationToken).ConfigureAwait(false);
            var seed = net.SeedAddress;
            for (var i = 1; i <= options.Nodes; i++)
                await net.StartNodeAsync(i, seed, loggerFactory, cancellationToken).ConfigureAwait(false);
            foreach (var n in net._all)
                if (n.Gossip is { } gossip) net._loops.Add(Task.Run(() => gossip.SendLoopAsync(net._stopping.Token), CancellationToken.None));
        }
        catch
        {
            await net.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return net;
    }

    private async Task StartNodeAsync(int index, string? seed, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var name = index == 0 ? "seed" : "node-" + index.ToString(CultureInfo.InvariantCulture);
        var port = Options.BasePort == 0 ? 0 : Options.BasePort + index;
        var config = new NodeConfig
        {
            Moniker = "testnet-" + name,
            ChainId = Options.ChainId,
            P2P = new P2PConfig
            {
                ListenAddress = "tcp://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                AllowDuplicateIp = true, // every node is 127.0.0.1
            },
            Pex = new PexConfig
            {
                Seeds = seed is null ? [] : [seed],
                SeedMode = seed is null,
                AddrBookStrict = false, // loopback addresses are not routable
            },
        };
        var home = new NodeHome(Path.Combine(Options.Root, name));
        home.Init(config);
        GossipAgent? gossip = null;
        var host = new NodeHost(config, home.LoadKey(), loggerFactory, new NodeHostOptions
        {
            Home = home.Root,
            Reactors = [NodePex.Factory(Options.Pex)],
            BeforeStart = seed is null ? null : h => gossip = new GossipAgent(h, Options.GossipInterval),
        });
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var node = new TestnetNode(name, host, gossip);
        _all.Add(node);
        if (!node.IsSeed) _nodeIds.Add(host.Id);
        if (gossip is not null) _loops.Add(Task.Run(gossip.ReceiveLoopAsync, CancellationToken.None));
    }

    /// <summary>Every node's counters and the formation verdict.</summary>
    public TestnetSnapshot Snapshot()
    {
        var stats = _all.Select(Stats).ToList();
        var problems = new List<string>();
        foreach (var s in stats.Where(s => !s.Seed))
        {
            if (s.NodePeers < NeededPeers) problems.Add(Plural(s.Name, s.NodePeers, "peer") + $" among the nodes (needs {NeededPeers})");
            else if (s.KnownNodes < NeededKnown) problems.Add($"{s.Name} knows {s.KnownNodes} of the other nodes (needs {NeededKnown})");
            else if (s.OriginsHeard < Options.Nodes - 1) problems.Add($"{s.Name} heard gossip from {s.OriginsHeard}/{Options.Nodes - 1} nodes");
        }
        var status = problems.Count == 0 ? "formed"
            : "forming: " + string.Join("; ", problems.Take(3)) + (problems.Count > 3 ? $"; and {problems.Count - 3} more" : "");
        return new TestnetSnapshot(Elapsed, stats, problems.Count == 0, status);
    }

    private static string Plural(string who, int count, string what) =>
        string.Create(CultureInfo.InvariantCulture, $"{who} has {count} {what}{(count == 1 ? "" : "s")}");

    private TestnetNodeStats Stats(TestnetNode n)
    {
        var sw = n.Host.Switch;
        var peers = sw.Peers;
        var nodePeers = peers.Count(p => _nodeIds.Contains(p.Id) && p.Id != n.Host.Id);
        var known = _nodeIds.Count(id => id != n.Host.Id && (n.Pex.Book.HasAddress(id) || sw.GetPeer(id) is not null));
        var g = n.Gossip;
        return new TestnetNodeStats(n.Name, n.Host.Id.ToString(), n.Host.ListenAddress?.DialString ?? "-", n.IsSeed,
            peers.Count(p => !p.IsOutbound), peers.Count(p => p.IsOutbound), nodePeers, n.Pex.Book.Size, n.IsSeed ? 0 : known,
            g?.Sent ?? 0, g?.Received ?? 0, g?.BytesSent ?? 0, g?.BytesReceived ?? 0, g?.OriginsHeard ?? 0);
    }

    /// <summary>Stops the gossip, then the nodes (in parallel), then the seed; each saves its address book.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        // Nodes first, then the seed: a node dialing a seed that is already gone would log a warning for nothing.
        await Task.WhenAll(_all.Skip(1).Select(n => n.Host.StopAsync())).ConfigureAwait(false);
        if (_all.Count > 0) await Seed.Host.StopAsync().ConfigureAwait(false);
        // The receive loops end when their Switch stops (the channel completes); the send loops at the cancellation.
        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        foreach (var n in _all) await n.Host.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
