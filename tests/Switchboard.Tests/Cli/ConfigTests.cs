using Switchboard.Cli.Config;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>The config file's strict loading and the checks shared by the file and the <c>start</c> flags.</summary>
public class ConfigTests
{
    private readonly CliHarness _cli = new();

    private async Task<TempHome> InitAsync()
    {
        var home = CliHarness.NewHome();
        Assert.Equal(0, (await _cli.RunAsync("init", "--home", home.Path)).ExitCode);
        return home;
    }

    private static void Edit(TempHome home, string from, string to)
    {
        var text = File.ReadAllText(home.ConfigPath);
        Assert.Contains(from, text);
        File.WriteAllText(home.ConfigPath, text.Replace(from, to, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"listen_address\"", "\"lisen_address\"", "lisen_address")]                       // unknown property (typo)
    [InlineData("\"external_address\": \"\"", "\"external_address\": \"no-port\"", "p2p.external_address")] // invalid value
    [InlineData("\"dial_timeout\": \"3s\"", "\"dial_timeout\": \"3 parsecs\"", "3 parsecs")]     // bad duration
    [InlineData("\"dial_timeout\": \"3s\"", "\"dial_timeout\": 3", "duration")]                  // wrong JSON type
    [InlineData("\"pong_timeout\": \"45s\"", "\"pong_timeout\": \"2m\"", "mconnection")]          // library rule: pong < ping
    [InlineData("\"max_num_inbound_peers\": 40", "\"max_num_inbound_peers\": -1", "p2p.max_num_inbound_peers")]
    [InlineData("\"persistent_peers\": []", "\"persistent_peers\": [\"nobody@nowhere\"]", "p2p.persistent_peers")]
    [InlineData("\"seeds\": []", "\"seeds\": [\"abc@1.2.3.4:26656\"]", "pex.seeds")]
    [InlineData("\"echo_channel\": \"\"", "\"echo_channel\": \"0x100\"", "diagnostics.echo_channel")]
    [InlineData("\"chain_id\": \"switchboard\"", "\"chain_id\": null", "chain_id")]              // null where a value is required
    [InlineData("\"chain_id\":", "\"chian_id\": \"a\", \"chain_id\":", "chian_id")]              // unknown property at the root
    [InlineData("\"moniker\": \"", "\"moniker\": \"caf\\u00e9", "moniker")]                      // not printable ASCII
    public async Task InvalidConfigIsAClearErrorWithExitCode2(string from, string to, string mentioned)
    {
        using var home = await InitAsync();
        Edit(home, from, to);

        // (--laddr keeps an accidentally accepted config on loopback.) A config that is accepted would start a node that runs until cancelled: the deadline turns that into a failure.
        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0"], deadline.Token);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains(mentioned, result.Error);
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("listening on", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--laddr", "nonsense", "p2p.listen_address")]
    [InlineData("--persistent-peers", "abc@127.0.0.1:1", "p2p.persistent_peers")]
    [InlineData("--external-address", "example.com", "p2p.external_address")]
    [InlineData("--echo", "0xzz", "diagnostics.echo_channel")]
    [InlineData("--moniker", "tab\there", "moniker")]
    public async Task InvalidStartFlagsAreCheckedLikeTheFile(string flag, string value, string mentioned)
    {
        using var home = await InitAsync();

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, flag, value], deadline.Token);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(mentioned, result.Error);
    }

    [Fact]
    public async Task CommandLineErrorsExitWith2()
    {
        var unknown = await _cli.RunAsync("start", "--no-such-flag");
        var badTimeout = await _cli.RunAsync("probe", "0000000000000000000000000000000000000000@127.0.0.1:1", "--timeout", "soon");
        var missing = await _cli.RunAsync("send", "--count", "3");

        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--no-such-flag", unknown.Error);
        Assert.Equal(2, badTimeout.ExitCode);
        Assert.Contains("soon", badTimeout.Error);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--to", missing.Error);
    }

    [Fact]
    public void APartialFileWithCommentsKeepsTheDefaultsOfEverythingElse()
    {
        var config = ConfigFile.Parse("""
            // a hand-written file
            {
              "chain_id": "test-chain",
              "p2p": { "listen_address": "tcp://127.0.0.1:7000", "persistent_peers": ["0123456789abcdef0123456789abcdef01234567@example.com:26656",], },
              "mconnection": { "send_rate": 5120000, "flush_coalescing_delay": "100ms" },
            }
            """u8, "test");

        var settings = NodeSettings.From(config);

        Assert.Equal("test-chain", settings.Switch.Network);
        Assert.Equal(7000, settings.Listen.Port);
        Assert.Equal("example.com", Assert.Single(settings.PersistentPeers).Host);
        Assert.Equal(5_120_000, settings.Switch.Connection.SendRate);
        Assert.Equal(TimeSpan.FromMilliseconds(100), settings.Switch.Connection.FlushCoalescingDelay);
        Assert.Equal(TimeSpan.FromSeconds(45), settings.Switch.Connection.PongTimeout);
        Assert.Equal(40, settings.Switch.MaxInboundPeers);
        Assert.Null(settings.EchoChannel);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    [InlineData("250ms", 250)]
    [InlineData("3s", 3000)]
    [InlineData("1.5s", 1500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    public void DurationsParseAndFormatLikeGo(string text, double milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
        Assert.Equal(value, Duration.Parse(Duration.Format(value)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("-1s")]
    [InlineData("5 s")]
    [InlineData("1d")]
    [InlineData("100000h")]
    public void BadDurationsAreRefused(string text) => Assert.False(Duration.TryParse(text, out _, out _));

    [Theory]
    [InlineData("tcp://127.0.0.1:26656", "127.0.0.1:26656")]
    [InlineData("0.0.0.0:0", "0.0.0.0:0")]
    [InlineData("tcp://[::1]:5", "[::1]:5")]
    public void ListenAddressesParse(string text, string endpoint)
    {
        Assert.True(Addresses.TryParseListen(text, out var parsed, out var error), error);
        Assert.Equal(endpoint, parsed.ToString());
    }

    [Theory]
    [InlineData("udp://127.0.0.1:1")]
    [InlineData("localhost:26656")]
    [InlineData("::1:5")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:65536")]
    public void BadListenAddressesAreRefused(string text) => Assert.False(Addresses.TryParseListen(text, out _, out _));
}
