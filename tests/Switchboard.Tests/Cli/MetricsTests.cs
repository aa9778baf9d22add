using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary><c>start --metrics-addr</c>: the Switch's meter scraped as Prometheus text by a real HttpClient.</summary>
public partial class MetricsTests
{
    private readonly CliHarness _cli = new();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)")]
    private static partial Regex SampleLine();

    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    /// <summary>The samples of a Prometheus text exposition (comments skipped; label values without escapes, as ours are).</summary>
    private static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var m = SampleLine().Match(line);
            Assert.True(m.Success, $"not a Prometheus sample line: {line}");
            var labels = Regex.Matches(m.Groups["labels"].Value, "(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=\"(?<v>[^\"]*)\"")
                .ToDictionary(l => l.Groups["k"].Value, l => l.Groups["v"].Value);
            samples.Add(new Sample(m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return samples;
    }

    private sealed class SinkReactor() : Reactor("sink")
    {
        private int _received;

        public int Received => Volatile.Read(ref _received);

        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [new ChannelDescriptor(0x77, 1)];

        public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _received);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task MetricsAreScrapedAndPeersAndBytesMatchTheNode()
    {
        using var home = CliHarness.NewHome();
        await using var a = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--echo", "0x77", "--metrics-addr", "tcp://127.0.0.1:0");
        var scrape = a.Host.Metrics!.ScrapeAddress!;
        using var http = new HttpClient { Timeout = Eventually.DefaultTimeout };
        var sink = new SinkReactor();
        var config = new NodeConfig { P2P = new P2PConfig { ListenAddress = "tcp://127.0.0.1:0", PersistentPeers = [a.Address], DialJitter = TimeSpan.Zero } };
        await using var b = new NodeHost(config, NodeKey.Generate(), NullLoggerFactory.Instance, new NodeHostOptions { Reactors = [_ => sink] });
        await b.StartAsync();
        await Eventually.TrueAsync(() => a.Host.Switch.Peers.Count == 1, "b connected to a");

        // Samples of node a only: in a test process several nodes' meters are visible to every exporter.
        async Task<List<Sample>> ScrapeAsync() =>
            [.. Parse(await http.GetStringAsync(scrape)).Where(s => s.Labels.GetValueOrDefault("otel_scope_node_id") == a.Id)];

        var peers = 0.0;
        await Eventually.TrueAsync(() =>
        {
            peers = ScrapeAsync().GetAwaiter().GetResult().SingleOrDefault(s => s.Name == "cometbft_p2p_peers")?.Value ?? -1;
            return peers == 1;
        }, "the scrape shows one peer");
        Assert.Equal(a.Host.Switch.Peers.Count, (int)peers);

        Assert.True(b.Switch.GetPeer(a.Host.Id)!.TrySend(0x77, new byte[10_000]));
        await Eventually.TrueAsync(() => sink.Received == 1, "a echoed b's message back");
        double received = 0, sent = 0;
        await Eventually.TrueAsync(() =>
        {
            var samples = ScrapeAsync().GetAwaiter().GetResult();
            bool Of(Sample s) => s.Labels.GetValueOrDefault("peer_id") == b.Id.ToString() && s.Labels.GetValueOrDefault("chID") == "0x77";
            received = samples.Where(s => s.Name == "cometbft_p2p_peer_receive_bytes_total" && Of(s)).Sum(s => s.Value);
            sent = samples.Where(s => s.Name == "cometbft_p2p_peer_send_bytes_total" && Of(s)).Sum(s => s.Value);
            return received >= 10_000 && sent >= 10_000;
        }, "the byte counters moved");
        using var response = await http.GetAsync(scrape);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AMetricsPortInUseIsExit1()
    {
        using var home = CliHarness.NewHome();
        using var occupier = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupier.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupier.Listen();
        var port = ((IPEndPoint)occupier.LocalEndPoint!).Port;

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0", "--rpc-laddr", "",
            "--metrics-addr", $"127.0.0.1:{port}"], deadline.Token);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"error: cannot serve metrics on 127.0.0.1:{port}: address already in use", result.Error);
    }

    [Fact]
    public void CometBftsDefaultListenAddressMeansEveryInterface()
    {
        var settings = NodeSettings.From(new NodeConfig { Instrumentation = new InstrumentationConfig { Prometheus = true } });

        Assert.Equal(new IPEndPoint(IPAddress.Any, 26660), settings.Metrics);
        Assert.Null(NodeSettings.From(new NodeConfig()).Metrics); // prometheus = false (CometBFT's default): nothing served
    }
}
