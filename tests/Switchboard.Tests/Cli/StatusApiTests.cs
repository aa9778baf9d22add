using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>
/// The status API of <c>start</c> (<c>/net_info</c>, <c>/status</c>, <c>/health</c> on Kestrel) read by a real
/// HttpClient, checked against CometBFT v0.38.25's <c>/net_info</c>, and the <c>net-info</c> command that prints it.
/// </summary>
public class StatusApiTests
{
    private readonly CliHarness _cli = new();

    private static string CapturePath => Path.Combine(AppContext.BaseDirectory, "TestData", "Operator", "cometbft_v0.38.25_net_info.json");

    /// <summary>
    /// A (<c>start</c> with echo and PEX) and B (a NodeHost whose reactor on 0x77 only counts what it receives) with B
    /// dialing A: A has one inbound peer, and a message from B comes back once (B does not echo).
    /// </summary>
    private async Task<(RunningNode A, NodeHost B, SinkReactor Sink, TempHome HomeA)> TwoNodesAsync()
    {
        var homeA = CliHarness.NewHome();
        var a = await _cli.StartNodeAsync(homeA, "--laddr", "tcp://127.0.0.1:0", "--echo", "0x77", "--moniker", "node-a");
        var sink = new SinkReactor();
        var config = new NodeConfig
        {
            Moniker = "node-b",
            P2P = new P2PConfig { ListenAddress = "tcp://127.0.0.1:0", PersistentPeers = [a.Address], DialJitter = TimeSpan.Zero },
        };
        var b = new NodeHost(config, NodeKey.Generate(), NullLoggerFactory.Instance, new NodeHostOptions { Reactors = [_ => sink] });
        await b.StartAsync();
        await Eventually.TrueAsync(() => a.Host.Switch.Peers.Count == 1, "b connected to a");
        return (a, b, sink, homeA);
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
    public async Task NetInfoHasCometBftsFieldNamesAndEncodingsAndItsCountersMove()
    {
        var (a, b, sink, homeA) = await TwoNodesAsync();
        using var _ha = homeA;
        await using var _a = a;
        await using var _b = b;
        using var http = new HttpClient { BaseAddress = a.Host.StatusApi!.Address, Timeout = Eventually.DefaultTimeout };

        using var response = await http.GetAsync("/net_info");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var ours = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        using var capture = JsonDocument.Parse(File.ReadAllText(CapturePath));

        AssertSameShape(capture.RootElement, ours.RootElement, "$");
        var result = ours.RootElement.GetProperty("result");
        Assert.Equal("1", result.GetProperty("n_peers").GetString());
        var peer = Assert.Single(result.GetProperty("peers").EnumerateArray());
        Assert.Equal(b.Id.ToString(), peer.GetProperty("node_info").GetProperty("id").GetString());
        Assert.Equal("node-b", peer.GetProperty("node_info").GetProperty("moniker").GetString());
        Assert.Equal("77", peer.GetProperty("node_info").GetProperty("channels").GetString());
        Assert.False(peer.GetProperty("is_outbound").GetBoolean());
        Assert.Equal("127.0.0.1", peer.GetProperty("remote_ip").GetString());
        var status = peer.GetProperty("connection_status");
        Assert.True(long.Parse(status.GetProperty("Duration").GetString()!) > 0); // nanoseconds, as a string
        Assert.Contains(status.GetProperty("Channels").EnumerateArray(), c => c.GetProperty("ID").GetInt32() == 0x77);

        // Traffic on the echo channel moves both byte counters.
        var sentBefore = long.Parse(status.GetProperty("SendMonitor").GetProperty("Bytes").GetString()!);
        var receivedBefore = long.Parse(status.GetProperty("RecvMonitor").GetProperty("Bytes").GetString()!);
        Assert.True(b.Switch.GetPeer(a.Host.Id)!.TrySend(0x77, new byte[10_000]));
        await Eventually.TrueAsync(() => sink.Received == 1, "a echoed b's message back");
        using var after = JsonDocument.Parse(await http.GetStringAsync("/net_info"));
        var monitorsAfter = after.RootElement.GetProperty("result").GetProperty("peers")[0].GetProperty("connection_status");
        Assert.True(long.Parse(monitorsAfter.GetProperty("SendMonitor").GetProperty("Bytes").GetString()!) >= sentBefore + 10_000);
        Assert.True(long.Parse(monitorsAfter.GetProperty("RecvMonitor").GetProperty("Bytes").GetString()!) >= receivedBefore + 10_000);
    }

    /// <summary>Every property of the capture exists in ours with the same JSON kind (string, number, bool, object, array).</summary>
    private static void AssertSameShape(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind || (expected.ValueKind is JsonValueKind.True or JsonValueKind.False
            && actual.ValueKind is JsonValueKind.True or JsonValueKind.False), $"{path}: {expected.ValueKind} expected, {actual.ValueKind} found");
        if (expected.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in expected.EnumerateObject())
            {
                Assert.True(actual.TryGetProperty(property.Name, out var value), $"{path}.{property.Name} is missing");
                AssertSameShape(property.Value, value, $"{path}.{property.Name}");
            }
        }
        else if (expected.ValueKind == JsonValueKind.Array && expected.GetArrayLength() > 0)
        {
            Assert.True(actual.GetArrayLength() > 0, $"{path} is empty");
            AssertSameShape(expected[0], actual[0], $"{path}[0]");
        }
    }

    [Fact]
    public async Task StatusAndHealthAnswerLikeCometBft()
    {
        using var home = CliHarness.NewHome();
        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--echo", "0x77");
        using var http = new HttpClient { BaseAddress = node.Host.StatusApi!.Address, Timeout = Eventually.DefaultTimeout };

        using var status = JsonDocument.Parse(await http.GetStringAsync("/status"));
        using var health = JsonDocument.Parse(await http.GetStringAsync("/health"));
        using var unknown = await http.GetAsync("/block?height=1");

        Assert.Equal("2.0", status.RootElement.GetProperty("jsonrpc").GetString());
        var result = status.RootElement.GetProperty("result");
        Assert.Equal(node.Id, result.GetProperty("node_info").GetProperty("id").GetString());
        Assert.Equal("7700", result.GetProperty("node_info").GetProperty("channels").GetString());
        Assert.Equal("8", result.GetProperty("node_info").GetProperty("protocol_version").GetProperty("p2p").GetString());
        Assert.Equal("0", result.GetProperty("sync_info").GetProperty("latest_block_height").GetString());
        Assert.False(result.GetProperty("sync_info").GetProperty("catching_up").GetBoolean());
        Assert.Equal(Convert.ToBase64String(node.Host.Key.PublicKey.Span),
            result.GetProperty("validator_info").GetProperty("pub_key").GetProperty("value").GetString());
        Assert.Equal(JsonValueKind.Object, health.RootElement.GetProperty("result").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var error = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync());
        Assert.Equal(-32601, error.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task NetInfoCommandPrintsThePeersAsATable()
    {
        var (a, b, sink, homeA) = await TwoNodesAsync();
        using var _ha = homeA;
        await using var _a = a;
        await using var _b = b;
        var rpc = a.Host.StatusApi!.Address.ToString();

        var table = await _cli.RunAsync("net-info", "--rpc", rpc);
        var json = await _cli.RunAsync("net-info", "--rpc", rpc.Replace("http://", "tcp://", StringComparison.Ordinal), "--json");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("peers      1", table.Output);
        Assert.Matches(@"ID +DIR +ADDRESS +MONIKER +NETWORK +VERSION +CHANNELS +UP +SENT +RECEIVED +SEND/S +RECV/S", table.Output);
        Assert.Matches($@"{b.Id}  in +127\.0\.0\.1 \(127\.0\.0\.1:\d+\) +node-b +switchboard +\S+ +0x77 ", table.Output);
        Assert.True(json.ExitCode == 0, json.ToString());
        using var doc = JsonDocument.Parse(json.Output);
        Assert.Equal("1", doc.RootElement.GetProperty("result").GetProperty("n_peers").GetString());
    }

    [Fact]
    public async Task NetInfoWithoutANodeFailsWithExit1()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var result = await _cli.RunAsync("net-info", "--rpc", $"http://127.0.0.1:{port}");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: http://127.0.0.1:{port}/net_info: ", result.Error);
    }

    [Fact]
    public async Task AStatusApiPortInUseIsExit1()
    {
        using var home = CliHarness.NewHome();
        using var occupier = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupier.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupier.Listen();
        var port = ((IPEndPoint)occupier.LocalEndPoint!).Port;

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0", "--rpc-laddr", $"tcp://127.0.0.1:{port}"], deadline.Token);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"error: cannot serve the status API on 127.0.0.1:{port}: address already in use", result.Error);
    }
}
