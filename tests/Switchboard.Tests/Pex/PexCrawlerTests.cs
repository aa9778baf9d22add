using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Tests.Integration;
using Switchboard.Tests.Support;
using Switchboard.Transport;
using static Switchboard.Tests.Pex.PexTestKit;

namespace Switchboard.Tests.Pex;

/// <summary>The crawler walks a network by PEX without joining it.</summary>
public sealed class PexCrawlerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly MemoryKind _kind = new();

    private async Task<(PexNode Seed, List<PexNode> Nodes, NetAddress Dead)> NetworkAsync(int count)
    {
        var seed = await PexNode.StartAsync(_kind, _time, IPAddress.Parse("240.0.0.1"), pex: o => o with { SeedMode = true });
        var nodes = new List<PexNode>();
        for (var i = 0; i < count; i++)
            nodes.Add(await PexNode.StartAsync(_kind, _time, IPAddress.Parse($"242.{i}.0.1"),
                pex: o => o with { Seeds = [seed.DialAddress] }, seed: 50 + i));
        await Eventually.TrueAsync(() => nodes.All(n => seed.Book.HasAddress(n.Id)), "every node introduced itself to the seed");
        var dead = Addr(new Random(1), "243.1.1.1");
        Assert.Equal(AddAddressResult.Added, seed.Book.AddAddress(dead, dead));
        return (seed, nodes, dead);
    }

    private Task<CrawlResult> CrawlAsync(PexNode seed, CrawlerOptions options, List<CrawlEvent> events, NodeKey? key = null)
    {
        key ??= NodeKey.Generate();
        var transport = _kind.Create(key, new TransportOptions { AllowDuplicateIp = true });
        return PexCrawler.RunAsync(transport, key, new SwitchOptions { Network = "test-chain", AllowDuplicateIp = true },
            [seed.DialAddress], options, e => { lock (events) events.Add(e); });
    }

    [Fact]
    public async Task VisitsEveryNodeAndRecordsWhatItLearned()
    {
        var (seed, nodes, dead) = await NetworkAsync(8);
        try
        {
            var events = new List<CrawlEvent>();
            var crawlerKey = NodeKey.Generate();
            var result = await Eventually.WithinAsync(
                CrawlAsync(seed, new CrawlerOptions { AnswerTimeout = TimeSpan.FromSeconds(30) }, events, crawlerKey), "crawl");

            Assert.Equal(10, result.Nodes.Count);
            Assert.Equal(10, result.Discovered);
            Assert.False(result.TimedOut);
            Assert.False(result.LimitReached);
            var bySeed = result.Nodes.Single(n => n.Id == seed.Id);
            Assert.True(bySeed.Reachable);
            Assert.Null(bySeed.Error);
            Assert.Equal(9, bySeed.AddressesReturned);
            foreach (var n in nodes)
            {
                var visited = result.Nodes.Single(v => v.Id == n.Id);
                Assert.True(visited.Reachable, visited.Error);
                Assert.Equal(("test-chain", "switchboard", n.Address), (visited.Network, visited.Moniker, visited.Address));
                Assert.Contains(PexReactor.ChannelId, visited.Channels);
                Assert.Equal(n.Switch.NodeInfo!.ListenAddr, visited.ListenAddr);
            }
            var deadNode = result.Nodes.Single(v => v.Id == dead.Id);
            Assert.False(deadNode.Reachable);
            Assert.NotNull(deadNode.Error);

            Assert.Equal(10, events.OfType<NodeVisited>().Count());
            Assert.Equal(9, events.OfType<NodeDiscovered>().Count(d => d.Queued));
            Assert.All(events.OfType<NodeDiscovered>(), d => Assert.Equal(seed.Id, d.From));
            // The crawler does not join: nobody keeps it as a peer, nobody stores its (0.0.0.0) address.
            await Eventually.TrueAsync(() => nodes.All(n => n.Switch.GetPeer(crawlerKey.Id) is null), "crawler hung up everywhere");
            Assert.All(nodes, n => Assert.False(n.Book.HasAddress(crawlerKey.Id)));
            Assert.All(nodes, n => Assert.Equal(0, n.Pex.GetStats().PeersPunished));
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
            await seed.DisposeAsync();
        }
    }

    [Fact]
    public async Task StopsAtTheNodeLimit()
    {
        var (seed, nodes, _) = await NetworkAsync(6);
        try
        {
            var events = new List<CrawlEvent>();
            var result = await Eventually.WithinAsync(CrawlAsync(seed, new CrawlerOptions { MaxNodes = 3, Concurrency = 2 }, events), "crawl");
            Assert.Equal(3, result.Nodes.Count);
            Assert.True(result.LimitReached);
            Assert.Equal(8, result.Discovered);
            Assert.Equal(2, events.OfType<NodeDiscovered>().Count(d => d.Queued));
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
            await seed.DisposeAsync();
        }
    }

    private async Task<(PexCrawler Crawler, Switch Switch)> CrawlerAsync(CrawlerOptions options)
    {
        var key = NodeKey.Generate();
        var crawler = new PexCrawler(options with { TimeProvider = _time });
        var sw = new Switch(_kind.Create(key, new TransportOptions { AllowDuplicateIp = true }), key,
            new SwitchOptions { Network = "test-chain", AllowDuplicateIp = true });
        sw.AddReactor(crawler);
        await sw.StartAsync(listen: null);
        return (crawler, sw);
    }

    private static DialAddress SeedOf(RawPexNode n) => new(n.Id, n.Address.Ip.ToString(), n.Address.Port);

    private async Task RunToEndAsync(Task crawl) =>
        await Eventually.TrueAsync(() => { _time.Advance(TimeSpan.FromSeconds(1)); return crawl.IsCompleted; }, "crawl ends",
            TimeSpan.FromSeconds(60));

    [Fact]
    public async Task NodesThatDoNotAnswerAreReported()
    {
        await using var silent = await RawPexNode.StartAsync(_kind);
        await using var mute = await RawPexNode.StartAsync(_kind);
        var (crawler, sw) = await CrawlerAsync(new CrawlerOptions { AnswerTimeout = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromHours(1) });
        await using var _ = sw;
        var events = new List<CrawlEvent>();
        var crawl = Task.Run(async () => { await foreach (var e in crawler.CrawlAsync([SeedOf(silent), SeedOf(mute)])) lock (events) events.Add(e); });

        Assert.Null(await silent.NextAsync()); // the crawler's PexRequest, never answered
        Assert.Null(await mute.NextAsync());
        // "silent" hangs up: the crawler gives a late answer a short grace, then reports it.
        await silent.Switch.StopPeerGracefullyAsync(silent.Switch.Peers.Single());
        // "mute" stays connected and says nothing: its 10 s answer timeout ends its visit.
        await RunToEndAsync(crawl);
        await crawl;
        var result = crawler.Result!;
        Assert.Equal((true, "disconnected without answering"), result.Nodes.Where(n => n.Id == silent.Id).Select(n => (n.Reachable, n.Error)).Single());
        Assert.Equal((true, "no PEX answer within 10 s"), result.Nodes.Where(n => n.Id == mute.Id).Select(n => (n.Reachable, n.Error)).Single());
        Assert.False(result.TimedOut);
        Assert.Equal(2, events.OfType<NodeVisited>().Count());
    }

    [Fact]
    public async Task TheTimeoutEndsTheCrawlWithWhatItHas()
    {
        await using var mute = await RawPexNode.StartAsync(_kind);
        var (crawler, sw) = await CrawlerAsync(new CrawlerOptions { AnswerTimeout = TimeSpan.FromHours(1), Timeout = TimeSpan.FromSeconds(25) });
        await using var _ = sw;
        var crawl = Task.Run(async () => { await foreach (var e in crawler.CrawlAsync([SeedOf(mute)])) { } });
        Assert.Null(await mute.NextAsync());
        await RunToEndAsync(crawl);
        await crawl;
        Assert.True(crawler.Result!.TimedOut);
        var node = Assert.Single(crawler.Result.Nodes);
        Assert.Equal((true, "crawl ended before the node answered"), (node.Reachable, node.Error));
    }

    [Fact]
    public async Task CancellationStopsTheCrawl()
    {
        await using var mute = await RawPexNode.StartAsync(_kind);
        var (crawler, sw) = await CrawlerAsync(new CrawlerOptions { AnswerTimeout = TimeSpan.FromHours(1), Timeout = TimeSpan.FromHours(1) });
        await using var _ = sw;
        using var cts = new CancellationTokenSource();
        var crawl = Task.Run(async () => { await foreach (var e in crawler.CrawlAsync([SeedOf(mute)], cts.Token)) { } });
        Assert.Null(await mute.NextAsync());
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Eventually.WithinAsync(crawl, "cancelled crawl ends"));
        await Eventually.TrueAsync(() => mute.Switch.Peers.Count == 0, "the crawler hung up");
    }
}
