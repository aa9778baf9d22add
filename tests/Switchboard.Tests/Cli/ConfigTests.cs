using Switchboard.Cli;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
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
    [InlineData("laddr = \"tcp://0.0.0.0:26656\"", "lisen_addr = \"tcp://0.0.0.0:26656\"", "p2p.lisen_addr: unknown key in [p2p]")] // typo
    [InlineData("external_address = \"\"", "external_address = \"no-port\"", "p2p.external_address")]  // invalid value
    [InlineData("dial_timeout = \"3s\"", "dial_timeout = \"3 parsecs\"", "p2p.dial_timeout: \"3 parsecs\"")] // bad duration
    [InlineData("dial_timeout = \"3s\"", "dial_timeout = 3", "p2p.dial_timeout: expected a duration string")] // wrong TOML type
    [InlineData("pong_timeout = \"45s\"", "pong_timeout = \"2m\"", "switchboard.mconnection.pong_timeout")] // pong < ping
    [InlineData("max_num_inbound_peers = 40", "max_num_inbound_peers = -1", "p2p.max_num_inbound_peers")]
    [InlineData("max_num_inbound_peers = 40", "max_num_inbound_peers = \"40\"", "p2p.max_num_inbound_peers: expected an integer, found the string \"40\"")]
    [InlineData("max_num_inbound_peers = 40", "max_num_inbound_peers = 99999999999", "p2p.max_num_inbound_peers: 99999999999 is out of range")]
    [InlineData("persistent_peers = \"\"", "persistent_peers = \"nobody@nowhere\"", "p2p.persistent_peers")]
    [InlineData("seeds = \"\"", "seeds = \"abc@1.2.3.4:26656\"", "p2p.seeds")]
    [InlineData("pex = true", "pex = \"yes\"", "p2p.pex: expected true or false")]
    [InlineData("echo_channel = \"\"", "echo_channel = \"0x100\"", "switchboard.echo_channel")]
    [InlineData("moniker = \"", "monicker = \"x\"\nmoniker = \"", "monicker: unknown key at the top level")]
    [InlineData("moniker = \"", "moniker = \"caf\u00e9", "moniker")]                                    // not printable ASCII
    [InlineData("[p2p]", "[p2pp]\n[p2p]", "[p2pp]: unknown section")]
    [InlineData("[p2p]", "[p2p]\nladdr = \"tcp://127.0.0.1:1\"", "already defined")]                  // duplicate key
    [InlineData("[p2p]", "[p2p\n", "line ")]                                                         // not TOML
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
        // Never .NET internals: no type names, no generic arity, no stack traces.
        Assert.DoesNotContain("System.", result.Error);
        Assert.DoesNotContain("`1", result.Error);
        Assert.DoesNotContain("Tomlyn", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("listening on", StringComparison.Ordinal));
    }

    [Fact]
    public void AnErrorNamesTheLineOfTheKey()
    {
        var text = File.ReadAllText(CometBftDefaultPath).Replace("max_num_inbound_peers = 40", "max_num_inbound_pears = 40", StringComparison.Ordinal);
        var line = text[..text.IndexOf("max_num_inbound_pears", StringComparison.Ordinal)].Count(c => c == '\n') + 1;

        var ex = Assert.Throws<ConfigException>(() => ConfigToml.Parse(text, "config.toml"));

        Assert.Equal($"config.toml line {line}: p2p.max_num_inbound_pears: unknown key in [p2p]", ex.Message);
    }

    private static string CometBftDefaultPath => Path.Combine(AppContext.BaseDirectory, "TestData", "Operator", "cometbft_v0.38.25_default_config.toml");

    [Fact]
    public void CometBftsDefaultConfigLoadsAndItsP2PValuesReachTheSwitch()
    {
        var (config, chainIdSet) = ConfigToml.Parse(File.ReadAllText(CometBftDefaultPath), "cometbft_config.toml");

        var settings = NodeSettings.From(config);

        Assert.False(chainIdSet); // CometBFT keeps it in genesis.json
        Assert.Equal("refpeer-config", settings.Switch.Moniker);
        Assert.Equal("0.0.0.0:26656", settings.Listen.ToString());
        Assert.Null(settings.ExternalAddress);
        Assert.Empty(settings.Seeds);
        Assert.Empty(settings.PersistentPeers);
        Assert.Equal(40, settings.Switch.MaxInboundPeers);
        Assert.Equal(10, settings.Switch.MaxOutboundPeers);
        Assert.Empty(settings.Switch.UnconditionalPeerIds);
        Assert.Empty(settings.Switch.PrivatePeerIds);
        Assert.False(settings.Switch.AllowDuplicateIp);
        Assert.False(settings.Transport.AllowDuplicateIp);
        Assert.Equal(1024, settings.Switch.Connection.MaxPacketMsgPayloadSize);
        Assert.Equal(5_120_000, settings.Switch.Connection.SendRate); // CometBFT's default, unlike `switchboard init`'s 0
        Assert.Equal(5_120_000, settings.Switch.Connection.RecvRate);
        Assert.Equal(TimeSpan.FromSeconds(20), settings.Transport.HandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Transport.DialTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.MConnection.FlushThrottleTimeout);
        Assert.Equal(TimeSpan.FromHours(1), settings.Switch.Reconnect.MaxBackoff); // persistent_peers_max_dial_period = "0s"
        Assert.True(config.Pex.Enabled);
        Assert.False(config.Pex.SeedMode);
        Assert.True(config.Pex.AddrBookStrict);
        Assert.Equal("config/addrbook.json", config.Pex.AddrBookFile);
        Assert.Equal("config/node_key.json", config.NodeKeyFile);
        Assert.Equal("tcp://127.0.0.1:26657", config.Rpc.Laddr);
        Assert.False(config.Instrumentation.Prometheus);
        Assert.Equal(":26660", config.Instrumentation.PrometheusListenAddr);
        Assert.Equal(3, config.Instrumentation.MaxOpenConnections);
        Assert.Equal("cometbft", config.Instrumentation.Namespace);
        Assert.Equal("info", config.LogLevel);
        Assert.Equal("plain", config.LogFormat);
    }

    [Fact]
    public void EveryP2PValueOfACometBftFileReachesTheSwitch()
    {
        var peer = "0123456789abcdef0123456789abcdef01234567";
        var other = "89abcdef0123456789abcdef0123456789abcdef";
        var text = File.ReadAllText(CometBftDefaultPath)
            .Replace("laddr = \"tcp://0.0.0.0:26656\"", "laddr = \"tcp://127.0.0.1:7000\"", StringComparison.Ordinal)
            .Replace("external_address = \"\"", "external_address = \"node.example.org:26656\"", StringComparison.Ordinal)
            .Replace("seeds = \"\"", $"seeds = \"{peer}@seed.example.org:26656, {other}@10.0.0.1:26656\"", StringComparison.Ordinal)
            .Replace("persistent_peers = \"\"", $"persistent_peers = \"{other}@10.0.0.1:26656\"", StringComparison.Ordinal)
            .Replace("max_num_inbound_peers = 40", "max_num_inbound_peers = 17", StringComparison.Ordinal)
            .Replace("max_num_outbound_peers = 10", "max_num_outbound_peers = 4", StringComparison.Ordinal)
            .Replace("unconditional_peer_ids = \"\"", $"unconditional_peer_ids = \"{other}\"", StringComparison.Ordinal)
            .Replace("persistent_peers_max_dial_period = \"0s\"", "persistent_peers_max_dial_period = \"30s\"", StringComparison.Ordinal)
            .Replace("max_packet_msg_payload_size = 1024", "max_packet_msg_payload_size = 2048", StringComparison.Ordinal)
            .Replace("send_rate = 5120000", "send_rate = 1000", StringComparison.Ordinal)
            .Replace("recv_rate = 5120000", "recv_rate = 2000", StringComparison.Ordinal)
            .Replace("seed_mode = false", "seed_mode = true", StringComparison.Ordinal)
            .Replace("private_peer_ids = \"\"", $"private_peer_ids = \"{peer}\"", StringComparison.Ordinal)
            .Replace("allow_duplicate_ip = false", "allow_duplicate_ip = true", StringComparison.Ordinal)
            .Replace("handshake_timeout = \"20s\"", "handshake_timeout = \"7s\"", StringComparison.Ordinal)
            .Replace("dial_timeout = \"3s\"", "dial_timeout = \"1500ms\"", StringComparison.Ordinal)
            .Replace("addr_book_strict = true", "addr_book_strict = false", StringComparison.Ordinal);

        var (config, _) = ConfigToml.Parse(text, "edited.toml");
        var settings = NodeSettings.From(config);

        Assert.Equal("127.0.0.1:7000", settings.Listen.ToString());
        Assert.Equal("node.example.org:26656", settings.Switch.ExternalAddress);
        Assert.Equal(["seed.example.org", "10.0.0.1"], settings.Seeds.Select(s => s.Host));
        Assert.Equal("10.0.0.1", Assert.Single(settings.Switch.PersistentPeers).Host);
        Assert.Equal(17, settings.Switch.MaxInboundPeers);
        Assert.Equal(4, settings.Switch.MaxOutboundPeers);
        Assert.Equal(other, Assert.Single(settings.Switch.UnconditionalPeerIds).ToString());
        Assert.Equal(peer, Assert.Single(settings.Switch.PrivatePeerIds).ToString());
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Switch.Reconnect.MaxBackoff);
        Assert.Equal(2048, settings.Switch.Connection.MaxPacketMsgPayloadSize);
        Assert.Equal(1000, settings.Switch.Connection.SendRate);
        Assert.Equal(2000, settings.Switch.Connection.RecvRate);
        Assert.True(settings.Switch.AllowDuplicateIp);
        Assert.True(settings.Transport.AllowDuplicateIp);
        Assert.Equal(TimeSpan.FromSeconds(7), settings.Transport.HandshakeTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), settings.Transport.DialTimeout);
        Assert.True(config.Pex.SeedMode);
        Assert.False(config.Pex.AddrBookStrict);
    }

    [Fact]
    public void KeysOfSectionsSwitchboardDoesNotReadAreIgnored()
    {
        var (config, _) = ConfigToml.Parse("""
            proxy_app = "tcp://127.0.0.1:26658"
            [mempool]
            some_future_setting = 1
            [consensus]
            timeout_commit = "5s"
            [rpc]
            laddr = "tcp://127.0.0.1:36657"
            some_future_setting = true
            [p2p]
            test_fuzz = false
            [p2p.test_fuzz_config]
            MaxDelay = "3s"
            """, "test");

        Assert.Equal("tcp://127.0.0.1:36657", config.Rpc.Laddr);
    }

    [Fact]
    public async Task StartWithACometBftHomeUsesItsConfigKeyGenesisAndAddressBookAsTheyAre()
    {
        using var home = CliHarness.NewHome();
        var configDir = Path.Combine(home.Path, "config");
        Directory.CreateDirectory(configDir);
        File.WriteAllText(Path.Combine(configDir, "config.toml"), File.ReadAllText(CometBftDefaultPath)
            .Replace("laddr = \"tcp://0.0.0.0:26656\"", "laddr = \"tcp://127.0.0.1:0\"", StringComparison.Ordinal)
            .Replace("laddr = \"tcp://127.0.0.1:26657\"", "laddr = \"\"", StringComparison.Ordinal)
            .Replace("node_key_file = \"config/node_key.json\"", "node_key_file = \"config/the_key.json\"", StringComparison.Ordinal));
        using var key = Switchboard.Crypto.NodeKey.Generate();
        key.Save(Path.Combine(configDir, "the_key.json"));
        File.WriteAllText(Path.Combine(configDir, "genesis.json"), """{"genesis_time":"2024-01-01T00:00:00Z","chain_id":"cometbft-home-chain","initial_height":"1"}""");
        var before = Directory.GetFiles(home.Path, "*", SearchOption.AllDirectories).Order().ToList();
        var configText = File.ReadAllText(Path.Combine(configDir, "config.toml"));

        await using (var node = await _cli.StartNodeAsync(home))
        {
            Assert.Equal(key.Id.ToString(), node.Id);
            Assert.Equal("cometbft-home-chain", node.Host.Switch.NodeInfo!.Network);
            Assert.Equal("refpeer-config", node.Host.Switch.NodeInfo.Moniker);
            Assert.Equal(5_120_000, node.Host.Switch.Options.Connection.SendRate);
            Assert.Equal(Path.Combine(configDir, "addrbook.json"), NodePex.AddrBookPath(node.Host));
            Assert.Equal(0, (await node.StopAsync()).ExitCode);
        }

        // Nothing was initialised or rewritten: the only new file is the address book, saved on stop.
        var after = Directory.GetFiles(home.Path, "*", SearchOption.AllDirectories).Order().ToList();
        Assert.Equal(before.Append(Path.Combine(configDir, "addrbook.json")).Order().ToList(), after);
        Assert.Equal(configText, File.ReadAllText(Path.Combine(configDir, "config.toml")));
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("initialised", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHomeWithOnlyTheOldConfigJsonIsToldWhatToDo()
    {
        using var home = CliHarness.NewHome();
        Directory.CreateDirectory(Path.Combine(home.Path, "config"));
        File.WriteAllText(Path.Combine(home.Path, "config", "config.json"), "{}");

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0"], deadline.Token);
        var createdByStart = File.Exists(home.ConfigPath);
        var init = await _cli.RunAsync("init", "--home", home.Path);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("config.json is no longer read", result.Error);
        Assert.Contains("switchboard init", result.Error);
        Assert.False(createdByStart); // start did not quietly initialise the home over the old config
        Assert.Equal(0, init.ExitCode);
        Assert.True(File.Exists(home.ConfigPath));
    }

    [Theory]
    [InlineData("--laddr", "nonsense", "p2p.laddr")]
    [InlineData("--persistent-peers", "abc@127.0.0.1:1", "p2p.persistent_peers")]
    [InlineData("--external-address", "example.com", "p2p.external_address")]
    [InlineData("--echo", "0xzz", "switchboard.echo_channel")]
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
    public void APartialFileKeepsTheDefaultsOfEverythingElse()
    {
        var (config, chainIdSet) = ConfigToml.Parse("""
            # a hand-written file
            [p2p]
            laddr = "tcp://127.0.0.1:7000"
            persistent_peers = "0123456789abcdef0123456789abcdef01234567@example.com:26656,"
            send_rate = 5120000
            [switchboard]
            chain_id = "test-chain"
            [switchboard.mconnection]
            flush_coalescing_delay = "100ms"
            """, "test");

        var settings = NodeSettings.From(config);

        Assert.True(chainIdSet);
        Assert.Equal("test-chain", settings.Switch.Network);
        Assert.Equal(7000, settings.Listen.Port);
        Assert.Equal("example.com", Assert.Single(settings.PersistentPeers).Host);
        Assert.Equal(5_120_000, settings.Switch.Connection.SendRate);
        Assert.Equal(0, settings.Switch.Connection.RecvRate);
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
