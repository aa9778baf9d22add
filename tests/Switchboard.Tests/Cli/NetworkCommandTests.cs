using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Cli.Hosting;
using Switchboard.Pex;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>testnet, crawl, start's PEX flags and bench, run in-process on 127.0.0.1.</summary>
public class NetworkCommandTests
{
    private const string Chain = "cli-pex-chain";
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task TestnetWithFourNodesFormsAndEndsAtOnce()
    {
        // --timeout bounds the run; the network is judged by the command, the test checks the report holds up.
        var result = await _cli.RunAsync("testnet", "--nodes", "4", "--json", "--timeout", "40s");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Output);
        var r = doc.RootElement;
        Assert.True(r.GetProperty("ok").GetBoolean());
        Assert.StartsWith("formed after", r.GetProperty("status").GetString());
        Assert.Equal(4, r.GetProperty("node_count").GetInt32());
        Assert.True(r.GetProperty("formed_after_seconds").GetDouble() <= r.GetProperty("elapsed_seconds").GetDouble());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("home").ValueKind);
        var nodes = r.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(5, nodes.Count);
        Assert.True(nodes[0].GetProperty("seed").GetBoolean());
        Assert.Equal(r.GetProperty("seed").GetString(), $"{nodes[0].GetProperty("id").GetString()}@{nodes[0].GetProperty("listen").GetString()}");
        Assert.Equal(4, nodes.Select(n => n.GetProperty("id").GetString()).Skip(1).Distinct().Count());
        foreach (var n in nodes.Skip(1))
        {
            Assert.False(n.GetProperty("seed").GetBoolean());
            Assert.True(n.GetProperty("node_peers").GetInt32() >= 2, n.ToString());
            Assert.True(n.GetProperty("known_nodes").GetInt32() >= 3, n.ToString());
            Assert.Equal(3, n.GetProperty("origins_heard").GetInt32());
            Assert.True(n.GetProperty("gossip_received").GetInt64() >= 3, n.ToString());
            Assert.True(n.GetProperty("bytes_received").GetInt64() >= 3 * GossipAgent.MessageSize, n.ToString());
        }
        // The progress lines went to standard error, so standard output is the JSON object alone.
        Assert.Contains("links", result.Error);
    }

    [Fact]
    public async Task TestnetTextOutputIsPlainWhenNotATerminalAndTheHomesAreRemoved()
    {
        var result = await _cli.RunAsync("testnet", "--nodes", "3", "--timeout", "40s");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain('\u001b', result.Output);
        Assert.Matches(@"seed:    [0-9a-f]{40}@127\.0\.0\.1:\d+", result.Output);
        Assert.Matches(@"\d+\.\ds  links \d+, fewest peers \d+", result.Output);
        Assert.Matches(@"NODE +ID +LISTEN +IN +OUT +NODES +BOOK +KNOWS +SENT +RECV +BYTES IN +BYTES OUT +HEARD", result.Output);
        Assert.Contains("node-3", result.Output);
        Assert.Matches(@"formed after \d+\.\d s: 3 nodes, 3 links between them", result.Output);
        var home = Regex.Match(result.Output, @"homes in (\S+) \(deleted at the end\)").Groups[1].Value;
        Assert.NotEmpty(home);
        Assert.False(Directory.Exists(home), $"{home} was not removed");
    }

    [Fact]
    public async Task CrawlFindsEveryNodeOfATestnet()
    {
        var root = Directory.CreateTempSubdirectory("switchboard-cli-crawl-").FullName;
        try
        {
            await using var net = await Testnet.StartAsync(new TestnetOptions { Nodes = 3, Root = root, ChainId = Chain }, NullLoggerFactory.Instance);
            await Eventually.TrueAsync(() => net.Snapshot().Formed, "the testnet formed");
            var expected = net.Nodes.Select(n => n.Host.Id.ToString()).Append(net.Seed.Host.Id.ToString()).ToHashSet();

            var json = await _cli.RunAsync("crawl", "--seeds", net.SeedAddress, "--chain-id", Chain, "--json", "--timeout", "20s");
            var text = await _cli.RunAsync("crawl", "--seeds", net.SeedAddress, "--chain-id", Chain);

            Assert.True(json.ExitCode == 0, json.ToString());
            using var doc = JsonDocument.Parse(json.Output);
            var found = doc.RootElement.EnumerateArray().ToList();
            Assert.Equal(expected, found.Select(n => n.GetProperty("id").GetString()!).ToHashSet());
            Assert.All(found, n => Assert.True(n.GetProperty("reachable").GetBoolean() && n.GetProperty("error").ValueKind == JsonValueKind.Null, n.ToString()));
            Assert.All(found, n => Assert.Equal(Chain, n.GetProperty("network").GetString()));
            var seed = found.Single(n => n.GetProperty("id").GetString() == net.Seed.Host.Id.ToString());
            Assert.Equal("testnet-seed", seed.GetProperty("moniker").GetString());
            Assert.Equal("00", seed.GetProperty("channels").GetString());
            Assert.True(seed.GetProperty("addresses_returned").GetInt32() >= 3);
            Assert.All(found.Where(n => n.GetProperty("moniker").GetString() != "testnet-seed"),
                n => Assert.Equal("0077", n.GetProperty("channels").GetString()));
            // Live progress on standard error, one line per visited node.
            Assert.Equal(4, json.Error.Split('\n').Count(l => l.StartsWith("crawl: ", StringComparison.Ordinal)));
            Assert.Contains("crawl: 4 visited (4 reachable)", json.Error);

            Assert.True(text.ExitCode == 0, text.ToString());
            Assert.Matches(@"ID +ADDRESS +MONIKER +VERSION +NETWORK +CHANNELS +STATUS", text.Output);
            foreach (var id in expected) Assert.Matches($@"{id}  127\.0\.0\.1:\d+ +testnet-\S+ +\S+ +{Chain} +0x00( 0x77)? +reachable, \d+ address", text.Output);
            Assert.Contains("4 nodes visited, 4 reachable, 4 discovered", text.Output);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task CrawlOfANodeThatIsNotThereExitsOne()
    {
        using var key = Switchboard.Crypto.NodeKey.Generate();
        // Port 1 on loopback: nothing listens there (and binding it needs privileges), so the dial is refused at once.
        var result = await _cli.RunAsync("crawl", "--seeds", $"{key.Id}@127.0.0.1:1", "--timeout", "10s");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("0 reachable", result.Output);
        Assert.Contains("unreachable", result.Output);
    }

    /// <summary>A fresh home whose config allows what a single-host test network needs: loopback addresses in the book, one IP for many peers.</summary>
    private async Task<TempHome> LoopbackHomeAsync()
    {
        var home = CliHarness.NewHome();
        Assert.Equal(0, (await _cli.RunAsync("init", "--home", home.Path)).ExitCode);
        var text = File.ReadAllText(home.ConfigPath);
        File.WriteAllText(home.ConfigPath, text
            .Replace("allow_duplicate_ip = false", "allow_duplicate_ip = true", StringComparison.Ordinal)
            .Replace("addr_book_strict = true", "addr_book_strict = false", StringComparison.Ordinal));
        return home;
    }

    [Fact]
    public async Task StartWithSeedsAndSeedModeRunsPexAndTheSeedAnswersACrawler()
    {
        using var seedHome = await LoopbackHomeAsync();
        using var nodeHome = await LoopbackHomeAsync();
        await using var seed = await _cli.StartNodeAsync(seedHome, "--laddr", "tcp://127.0.0.1:0", "--seed-mode", "--chain-id", Chain, "--moniker", "cli-seed");
        await using var node = await _cli.StartNodeAsync(nodeHome, "--laddr", "tcp://127.0.0.1:0", "--seeds", seed.Address, "--chain-id", Chain,
            "--moniker", "cli-node");

        var seedPex = NodePex.Of(seed.Host)!;
        var nodePex = NodePex.Of(node.Host)!;
        Assert.True(seedPex.Options.SeedMode);
        Assert.False(nodePex.Options.SeedMode);
        Assert.Equal(seed.Address, Assert.Single(nodePex.Options.Seeds).ToString());
        Assert.False(seedPex.Book.Options.Strict);
        // The node asks the seed at once (its book is empty); the seed learns the node from that connection.
        await Eventually.TrueAsync(() => seedPex.Book.HasAddress(node.Host.Id), "the seed learned the node's address");

        var crawl = await _cli.RunAsync("crawl", "--seeds", seed.Address, "--chain-id", Chain, "--json", "--timeout", "20s");

        Assert.True(crawl.ExitCode == 0, crawl.ToString());
        using var doc = JsonDocument.Parse(crawl.Output);
        var found = doc.RootElement.EnumerateArray().ToDictionary(n => n.GetProperty("id").GetString()!);
        Assert.Equal(2, found.Count);
        Assert.True(found[seed.Id].GetProperty("reachable").GetBoolean());
        Assert.Equal("cli-seed", found[seed.Id].GetProperty("moniker").GetString());
        Assert.True(found[seed.Id].GetProperty("addresses_returned").GetInt32() >= 1);
        Assert.True(found[node.Id].GetProperty("reachable").GetBoolean(), found[node.Id].ToString());
        Assert.Equal("cli-node", found[node.Id].GetProperty("moniker").GetString());

        Assert.Equal(0, (await node.StopAsync()).ExitCode);
        Assert.Equal(0, (await seed.StopAsync()).ExitCode);
        // The seed's book is saved on stop to the configured file in its home.
        var book = Path.Combine(seedHome.Path, "config", "addrbook.json");
        Assert.Contains(node.Id, File.ReadAllText(book));
    }

    [Fact]
    public async Task StartWithPexFalseRunsNoPexReactor()
    {
        using var home = await LoopbackHomeAsync();
        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "0x77");

        Assert.Null(NodePex.Of(node.Host));
        Assert.Equal([(byte)0x77], node.Host.Switch.NodeInfo!.Channels.ToArray());
        Assert.Equal(0, (await node.StopAsync()).ExitCode);
        Assert.False(File.Exists(Path.Combine(home.Path, "config", "addrbook.json")));
    }

    [Fact]
    public async Task BenchPrintsTheTableAndJson()
    {
        var text = await _cli.RunAsync("bench", "--sizes", "256,4096", "--mb", "1", "--latency-samples", "50");
        var json = await _cli.RunAsync("bench", "--sizes", "1024", "--mb", "1", "--latency-samples", "20", "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches(@"what +MB/s +msgs/s +vs raw TCP +vs raw AEAD", text.Output);
        Assert.Contains("raw loopback TCP (64 KiB)", text.Output);
        Assert.Matches(@"stack, 256 B messages +[\d.]+ +\d+ +[\d.]+ +[\d.]+", text.Output);
        Assert.Matches(@"stack, 4 KiB messages +[\d.]+ +\d+ +[\d.]+ +[\d.]+", text.Output);
        Assert.Matches(@"round trip, 1 KiB: stack p50 \d+ µs, p99 \d+ µs; raw TCP p50 \d+ µs", text.Output);
        Assert.Contains("bench: latency, 50 round trips", text.Error);

        Assert.True(json.ExitCode == 0, json.ToString());
        using var doc = JsonDocument.Parse(json.Output);
        var stack = Assert.Single(doc.RootElement.GetProperty("stack").EnumerateArray());
        Assert.Equal(1024, stack.GetProperty("message_size").GetInt32());
        Assert.True(stack.GetProperty("vs_raw_tcp").GetDouble() > 0 && stack.GetProperty("vs_raw_aead").GetDouble() > 0);
        Assert.Equal(1 << 20, doc.RootElement.GetProperty("raw_tcp").GetProperty("bytes").GetInt64());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("raw_tcp").GetProperty("vs_raw_tcp").ValueKind);
        Assert.True(doc.RootElement.GetProperty("latency_p50_micros").GetDouble() > 0);
    }

    [Theory]
    [InlineData("--nodes 1", "--nodes")]
    [InlineData("--nodes many", "--nodes")]
    [InlineData("--duration 5parsecs", "--duration")]
    [InlineData("--timeout 0", "--timeout")]
    [InlineData("--base-port 65530", "--base-port")]
    [InlineData("--chain-id", "--chain-id")]
    [InlineData("--chain-id caf\u00e9", "--chain-id")]
    [InlineData("--frobnicate", "--frobnicate")]
    public async Task BadTestnetFlagsExitTwo(string args, string mentioned) =>
        await AssertUsageErrorAsync(["testnet", .. args.Split(' ')], mentioned);

    [Theory]
    [InlineData("", "--seeds")]
    [InlineData("--seeds nonsense", "--seeds")]
    [InlineData("--seeds ,", "--seeds")]
    [InlineData("--seeds 0123456789abcdef0123456789abcdef01234567@127.0.0.1:1 --max-nodes 0", "--max-nodes")]
    [InlineData("--seeds 0123456789abcdef0123456789abcdef01234567@127.0.0.1:1 --timeout soon", "--timeout")]
    [InlineData("--seeds 0123456789abcdef0123456789abcdef01234567@127.0.0.1:1 --chain-id caf\u00e9", "--chain-id")]
    public async Task BadCrawlFlagsExitTwo(string args, string mentioned) =>
        await AssertUsageErrorAsync(["crawl", .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)], mentioned);

    [Theory]
    [InlineData("--sizes 0", "--sizes")]
    [InlineData("--sizes 1024,abc", "--sizes")]
    [InlineData("--sizes 8388608", "--sizes")]
    [InlineData("--mb 0", "--mb")]
    [InlineData("--latency-samples -1", "--latency-samples")]
    public async Task BadBenchFlagsExitTwo(string args, string mentioned) =>
        await AssertUsageErrorAsync(["bench", .. args.Split(' ')], mentioned);

    [Theory]
    [InlineData("--seeds nonsense", "p2p.seeds")]
    [InlineData("--seed-mode --pex false", "p2p.seed_mode")]
    [InlineData("--pex maybe", "maybe")]
    public async Task BadStartPexFlagsExitTwo(string args, string mentioned)
    {
        using var home = CliHarness.NewHome();
        await AssertUsageErrorAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0", .. args.Split(' ')], mentioned);
    }

    private async Task AssertUsageErrorAsync(string[] args, string mentioned)
    {
        // Accepted flags would start something that runs: the deadline turns that into a failure instead of a hang.
        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(args, deadline.Token);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains(mentioned, result.Error);
        Assert.Equal("", result.Output);
    }
}
