using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Cli.Commands;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary><c>start</c> with an echo reactor, driven by <c>send</c> and <c>probe</c>, all in-process over 127.0.0.1.</summary>
public class NodeCommandTests
{
    private const string Chain = "cli-test-chain";
    private readonly CliHarness _cli = new();

    /// <summary>
    /// init, then a config edit (the file is what start reads; flags override it): duplicate IPs allowed, because the
    /// test's clients all come from 127.0.0.1 one after another and the node may still be removing the previous one.
    /// </summary>
    private async Task<RunningNode> StartEchoNodeAsync(TempHome home, params string[] extra)
    {
        Assert.Equal(0, (await _cli.RunAsync("init", "--home", home.Path)).ExitCode);
        var text = File.ReadAllText(home.ConfigPath);
        File.WriteAllText(home.ConfigPath, text
            .Replace("allow_duplicate_ip = false", "allow_duplicate_ip = true", StringComparison.Ordinal)
            .Replace("chain_id = \"switchboard\"", $"chain_id = \"{Chain}\"", StringComparison.Ordinal));
        return await _cli.StartNodeAsync(home, ["--laddr", "tcp://127.0.0.1:0", "--echo", "0x77", "--moniker", "cli-echo", .. extra]);
    }

    [Fact]
    public async Task SendGetsEveryEchoBackInOrderAndReportsThroughputAndLatency()
    {
        using var home = CliHarness.NewHome();
        await using var node = await StartEchoNodeAsync(home);

        var small = await _cli.RunAsync("send", "--to", node.Address, "--count", "200", "--size", "1024", "--chain-id", Chain);
        var large = await _cli.RunAsync("send", "--to", node.Address, "--count", "3", "--size", "1048576", "--chain-id", Chain,
            "--window", "2", "--json");

        Assert.True(small.ExitCode == 0, small.ToString());
        Assert.Contains($"200 x 1024 B on channel 0x77 to {node.Address}, window 64", small.Output);
        Assert.Contains("OK: 200/200 echoes matched byte for byte, in order", small.Output);
        Assert.Matches(@"throughput  \d+\.\d\d MB/s, \d+ msgs/s", small.Output);
        Assert.Matches(@"round trip  p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms", small.Output);

        Assert.True(large.ExitCode == 0, large.ToString());
        using var json = JsonDocument.Parse(large.Output);
        var r = json.RootElement;
        Assert.True(r.GetProperty("ok").GetBoolean());
        Assert.Equal(3, r.GetProperty("matched").GetInt32());
        Assert.Equal(1048576, r.GetProperty("size").GetInt32());
        Assert.Equal("0x77", r.GetProperty("channel").GetString());
        Assert.True(r.GetProperty("megabytes_per_second").GetDouble() > 0);
        var latency = r.GetProperty("latency_ms");
        Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("max").GetDouble());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("error").ValueKind);
        Assert.Equal(203, node.Host.Echo!.Echoed);

        // The senders hung up when they finished; once the node has noticed, stop it the way Ctrl-C does.
        await Eventually.TrueAsync(() => node.Host.Switch.Peers.Count == 0, "the node removed both senders");
        var stopped = await node.StopAsync();
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        // The node logs one line per peer added and removed, with the reason (the Switch's own lines are not counted).
        var nodeLines = _cli.Logs.Where(l => l.Contains("Switchboard.Cli.Node: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, nodeLines.Count(l => l.Contains("Peer added:", StringComparison.Ordinal) && l.Contains("inbound, moniker switchboard-send", StringComparison.Ordinal)));
        Assert.Equal(2, nodeLines.Count(l => l.Contains("Peer removed:", StringComparison.Ordinal) && l.Contains("ConnectionLost (remote)", StringComparison.Ordinal)));
        Assert.Contains(_cli.Logs, l => l.Contains($"Node {node.Id} stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProbePrintsTheNodesIdentity()
    {
        using var home = CliHarness.NewHome();
        await using var node = await StartEchoNodeAsync(home);

        var text = await _cli.RunAsync("probe", node.Address, "--chain-id", Chain);
        var json = await _cli.RunAsync("probe", node.Address, "--chain-id", Chain, "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("OK, handshake completed in", text.Output);
        Assert.Contains($"id           {node.Id}", text.Output);
        Assert.Contains("moniker      cli-echo", text.Output);
        Assert.Contains($"network      {Chain}", text.Output);
        Assert.Contains("channels     0x77 0x00", text.Output); // echo, and PEX (on by default in start)
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Output);
        var info = doc.RootElement.GetProperty("node_info");
        Assert.Equal(node.Id, info.GetProperty("id").GetString());
        Assert.Equal("cli-echo", info.GetProperty("moniker").GetString());
        Assert.Equal(8UL, info.GetProperty("p2p_version").GetUInt64());
        Assert.Equal(node.Host.ListenAddress!.DialString, info.GetProperty("listen_addr").GetString());
    }

    [Fact]
    public async Task ProbeWithTheWrongIdFailsAuthentication()
    {
        using var home = CliHarness.NewHome();
        await using var node = await StartEchoNodeAsync(home);
        using var other = NodeKey.Generate();
        var wrong = $"{other.Id}@{node.Host.ListenAddress!.DialString}";

        var text = await _cli.RunAsync("probe", wrong, "--chain-id", Chain);
        var json = await _cli.RunAsync("probe", wrong, "--chain-id", Chain, "--json");

        Assert.Equal(1, text.ExitCode);
        Assert.Contains("FAILED", text.Output);
        Assert.Contains("rejected (AuthFailure): dialed ID mismatch", text.Output);
        Assert.Equal(1, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Output);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("rejected", error.GetProperty("kind").GetString());
        Assert.Equal("AuthFailure", error.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task ProbeOnAnotherChainIsIncompatible()
    {
        using var home = CliHarness.NewHome();
        await using var node = await StartEchoNodeAsync(home);

        var result = await _cli.RunAsync("probe", node.Address, "--chain-id", "some-other-chain");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("rejected (Incompatible): incompatible peer", result.Output);
        Assert.Contains(Chain, result.Output);
    }

    [Fact]
    public async Task ProbeToAClosedPortFailsAtOnceWithConnectionRefused()
    {
        int port;
        using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        }
        using var key = NodeKey.Generate();

        // A 60 s timeout: the run must end on the refusal, long before any timeout could fire.
        var result = await Eventually.WithinAsync(
            _cli.RunAsync("probe", $"{key.Id}@127.0.0.1:{port}", "--timeout", "60s", "--json"), "probe of a closed port");

        Assert.Equal(1, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Output);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal("connection_refused", doc.RootElement.GetProperty("error").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task SendToANodeThatDoesNotEchoTheChannelFails()
    {
        using var home = CliHarness.NewHome();
        await using var node = await StartEchoNodeAsync(home);

        var result = await _cli.RunAsync("send", "--to", node.Address, "--channel", "0x78", "--count", "5", "--chain-id", Chain);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAILED: 0/5", result.Output);
        Assert.Contains("Incompatible", result.Output);
    }

    [Fact]
    public async Task SendDetectsACorruptedEchoAndSaysWhere()
    {
        // A node built with the NodeHost extension point: a reactor that echoes, but flips one byte of message #7.
        var config = new NodeConfig { ChainId = Chain, P2P = new P2PConfig { ListenAddress = "tcp://127.0.0.1:0", AllowDuplicateIp = true } };
        var options = new NodeHostOptions { Reactors = [_ => new TamperingEchoReactor(0x77, corrupt: 7, offset: 100)] };
        await using var host = new NodeHost(config, NodeKey.Generate(), NullLoggerFactory.Instance, options);
        await host.StartAsync();

        var result = await _cli.RunAsync("send", "--to", host.ListenAddress!.ToString(), "--count", "20", "--size", "512",
            "--chain-id", Chain, "--json");

        Assert.Equal(1, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Output);
        Assert.Equal(7, doc.RootElement.GetProperty("matched").GetInt32());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("mismatch", error.GetProperty("kind").GetString());
        Assert.Contains("echo #7 differs at byte 100", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task StartWithoutAHomeInitialisesOneAndNatWithAnEphemeralPortIsSkipped()
    {
        using var home = CliHarness.NewHome();
        Directory.Delete(home.Path);

        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--nat", "--external-address", "node.example:26656");

        Assert.True(File.Exists(home.KeyPath) && File.Exists(home.ConfigPath));
        using (var key = NodeKey.Load(home.KeyPath)) Assert.Equal(key.Id.ToString(), node.Id);
        Assert.Contains(_cli.Logs, l => l.Contains("initialised one", StringComparison.Ordinal));
        // Port 0 cannot be mapped: logged, and the node runs on without a mapping, advertising the explicit address.
        Assert.Contains(_cli.Logs, l => l.Contains("NAT: not mapping", StringComparison.Ordinal));
        Assert.Null(node.Host.PortMapper);
        Assert.Equal("node.example:26656", node.Host.Switch.NodeInfo!.ListenAddr);
        Assert.Equal(0, (await node.StopAsync()).ExitCode);
    }

    [Fact]
    public async Task StartOnAPortInUseFailsWithAClearError()
    {
        using var home = CliHarness.NewHome();
        using var occupier = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupier.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupier.Listen();
        var port = ((IPEndPoint)occupier.LocalEndPoint!).Port;

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", $"tcp://127.0.0.1:{port}"], deadline.Token);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"error: cannot listen on 127.0.0.1:{port}: address already in use", result.Error);
    }

    [Fact]
    public async Task DemoRunsTwoNodesAndSucceeds()
    {
        var result = await _cli.RunAsync("demo");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("OK, handshake completed", result.Output);
        Assert.Equal(3, result.Output.Split("echoes matched byte for byte, in order").Length - 1);
        Assert.EndsWith("demo OK", result.Output.TrimEnd());
    }

    [Fact]
    public void EchoPayloadsDifferAndMismatchesAreLocated()
    {
        var a = EchoPayload.Create(1, 64);
        var b = EchoPayload.Create(2, 64);
        Assert.NotEqual(a.AsSpan(8).ToArray(), b.AsSpan(8).ToArray());
        Assert.Null(EchoPayload.Describe(a, EchoPayload.Create(1, 64), 1));
        Assert.Equal("echo #1 carries sequence number 2 (out of order or not ours)", EchoPayload.Describe(b, a, 1));
        Assert.Equal("echo #1 has 63 bytes, expected 64", EchoPayload.Describe(a.AsSpan(0, 63), a, 1));
        var flipped = a.ToArray();
        flipped[40] ^= 1;
        Assert.StartsWith("echo #1 differs at byte 40", EchoPayload.Describe(flipped, a, 1));
    }

    /// <summary>Echoes like the real one, except that one byte of one message is changed.</summary>
    private sealed class TamperingEchoReactor(byte channel, int corrupt, int offset) : Reactor("tampering-echo")
    {
        private int _seen;

        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [new ChannelDescriptor(channel, 1) { SendQueueCapacity = 64 }];

        public override async ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            var message = envelope.Message;
            if (_seen++ == corrupt)
            {
                var copy = message.ToArray();
                copy[offset] ^= 0x5a;
                message = copy;
            }
            await envelope.Source.SendAsync(envelope.ChannelId, message, cancellationToken);
        }
    }
}
