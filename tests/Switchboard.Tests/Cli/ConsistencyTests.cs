using System.Text.Json;
using Switchboard.Cli.Config;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>
/// One way to write a channel, snake_case JSON without needless escapes, clear messages for the usual mistakes, and
/// the small maintenance commands (version, gen-node-key, reset-addrbook).
/// </summary>
public class ConsistencyTests
{
    private readonly CliHarness _cli = new();

    [Theory]
    [InlineData("0x77", 0x77)]
    [InlineData("77", 0x77)]
    [InlineData("0X4D", 0x4d)]
    [InlineData("0", 0x00)]
    [InlineData("ff", 0xff)]
    public void ChannelIdsAreHexWithOrWithout0x(string text, byte expected)
    {
        Assert.True(Addresses.TryParseChannel(text, out var channel, out var error), error);
        Assert.Equal(expected, channel);
    }

    [Theory]
    [InlineData("119")]
    [InlineData("0x100")]
    [InlineData("zz")]
    [InlineData("")]
    public void OtherChannelTextIsRefused(string text) => Assert.False(Addresses.TryParseChannel(text, out _, out _));

    [Fact]
    public void TheMetricsExporterReadsTheMeterTheSwitchRecordsOn() =>
        // The CLI names the meter as any library user does (it has no access to the library's internals).
        Assert.Equal(Switchboard.SwitchMetrics.MeterName, Switchboard.Cli.Hosting.MetricsServer.SwitchMeterName);

    [Fact]
    public void ChannelListsPrintAs0xEverywhere() =>
        Assert.Equal("0x40 0x77 0x00", Addresses.FormatChannels([0x40, 0x77, 0x00]));

    [Fact]
    public async Task StartEchoAndSendChannelReadTheSameChannel()
    {
        using var home = CliHarness.NewHome();
        // "--echo 77" and "--channel 77" both mean 0x77 (before, the first was hex and the second decimal 0x4d).
        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "77");

        var send = await _cli.RunAsync("send", "--to", node.Address, "--channel", "77", "--count", "3", "--size", "64", "--json");

        Assert.Equal((byte)0x77, node.Host.Settings.EchoChannel);
        Assert.True(send.ExitCode == 0, send.ToString());
        using var doc = JsonDocument.Parse(send.Output);
        Assert.Equal("0x77", doc.RootElement.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task AnIncompatiblePeerIsExplainedWithChannelsIn0xForm()
    {
        using var home = CliHarness.NewHome();
        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "0x77");

        var probe = await _cli.RunAsync("probe", node.Address, "--channels", "40,0x20");

        Assert.Equal(1, probe.ExitCode);
        Assert.Contains("no common channel: ours are 0x40 0x20, the peer's are 0x77", probe.Output);
    }

    [Fact]
    public async Task JsonOutputIsSnakeCaseAndDoesNotEscapeAngleBrackets()
    {
        using var home = CliHarness.NewHome();
        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "0x77",
            "--moniker", "a<b>&c");

        var probe = await _cli.RunAsync("probe", node.Address, "--json");

        Assert.True(probe.ExitCode == 0, probe.ToString());
        Assert.Contains("\"moniker\": \"a<b>&c\"", probe.Output);
        Assert.DoesNotContain("\\u003", probe.Output);
        AssertSnakeCase(JsonDocument.Parse(probe.Output).RootElement);
    }

    [Fact]
    public void NatProbeJsonIsSnakeCase()
    {
        var report = new Switchboard.Nat.NatProbeReport { ElapsedMs = 1, DiscoveryMs = 1, Errors = ["no gateway -> none"] };

        var json = JsonSerializer.Serialize(report, CliJsonContext.Output.NatProbeReport);

        Assert.Contains("\"elapsed_ms\"", json);
        Assert.Contains("\"gateway_found\": false", json);
        Assert.Contains("no gateway -> none", json);
        AssertSnakeCase(JsonDocument.Parse(json).RootElement);
    }

    private static void AssertSnakeCase(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                Assert.Matches("^[a-z0-9_]+$", property.Name);
                AssertSnakeCase(property.Value);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray()) AssertSnakeCase(item);
        }
    }

    [Theory]
    [InlineData(new[] { "bogus-command" }, "error: unknown command 'bogus-command'; commands: init, ")]
    [InlineData(new string[0], "error: no command given; commands: init, ")]
    [InlineData(new[] { "start", "--pex", "maybe" }, "error: --pex: \"maybe\" is not true or false")]
    [InlineData(new[] { "start", "--allow-duplicate-ip", "yes" }, "error: --allow-duplicate-ip: \"yes\" is not true or false")]
    [InlineData(new[] { "send", "--to", "x", "--count", "many" }, "error: --count: \"many\" is not a whole number")]
    [InlineData(new[] { "start", "--max-inbound-peers", "lots" }, "error: --max-inbound-peers: \"lots\" is not a whole number")]
    [InlineData(new[] { "start", "--log-format", "xml" }, "error: --log-format: \"xml\" is not plain or json")]
    [InlineData(new[] { "probe", "@127.0.0.1:26656" }, "empty node ID before '@'")]
    public async Task UsualMistakesGetAClearMessage(string[] args, string expected)
    {
        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(args, deadline.Token);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Error);
        Assert.DoesNotContain("Required command was not provided", result.Error);
        Assert.DoesNotContain("System.", result.Error);
        Assert.DoesNotContain("Response file", result.Error);
    }

    [Fact]
    public async Task VersionPrintsTheToolAndProtocolVersions()
    {
        var text = await _cli.RunAsync("version");
        var json = await _cli.RunAsync("version", "--json");

        Assert.Equal(0, text.ExitCode);
        Assert.StartsWith("switchboard ", text.Output);
        Assert.Contains("p2p protocol 8", text.Output);
        using var doc = JsonDocument.Parse(json.Output);
        Assert.Equal(8, doc.RootElement.GetProperty("p2p_protocol").GetInt32());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("version").GetString()));
    }

    [Fact]
    public async Task GenNodeKeyCreatesAKeyAndNeverReplacesOne()
    {
        using var home = CliHarness.NewHome();

        var first = await _cli.RunAsync("gen-node-key", "--home", home.Path);
        var before = File.ReadAllBytes(home.KeyPath);
        var second = await _cli.RunAsync("gen-node-key", "--home", home.Path);

        Assert.True(first.ExitCode == 0, first.ToString());
        using (var key = NodeKey.Load(home.KeyPath)) Assert.Contains($"node ID   {key.Id}", first.Output);
        Assert.Equal(2, second.ExitCode);
        Assert.Contains("already exists", second.Error);
        Assert.Equal(before, File.ReadAllBytes(home.KeyPath));
    }

    [Fact]
    public async Task ResetAddrBookDeletesOnlyTheAddressBook()
    {
        using var home = CliHarness.NewHome();
        Assert.Equal(0, (await _cli.RunAsync("init", "--home", home.Path)).ExitCode);
        var book = Path.Combine(home.Path, "config", "addrbook.json");
        File.WriteAllText(book, "{}");

        var reset = await _cli.RunAsync("reset-addrbook", "--home", home.Path);
        var again = await _cli.RunAsync("reset-addrbook", "--home", home.Path);

        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Contains($"removed {book}", reset.Output);
        Assert.False(File.Exists(book));
        Assert.True(File.Exists(home.KeyPath) && File.Exists(home.ConfigPath));
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing to do", again.Output);
    }
}
