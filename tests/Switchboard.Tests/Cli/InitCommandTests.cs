using Switchboard.Cli.Config;
using Switchboard.Crypto;

namespace Switchboard.Tests.Cli;

/// <summary><c>init</c> and <c>show-node-id</c>.</summary>
public class InitCommandTests
{
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task InitWritesALoadableKeyAndAConfigWithEverySetting()
    {
        using var home = CliHarness.NewHome();
        var result = await _cli.RunAsync("init", "--home", home.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var key = NodeKey.Load(home.KeyPath);
        Assert.Contains($"node ID   {key.Id}", result.Output);
        Assert.Contains("(created)", result.Output);

        var (config, chainIdSet) = ConfigToml.Parse(File.ReadAllText(home.ConfigPath), home.ConfigPath);
        Assert.True(chainIdSet);
        Assert.Equal(ConfigToml.Write(new NodeConfig()), ConfigToml.Write(config));
        var settings = NodeSettings.From(config);
        Assert.Equal(26656, settings.Listen.Port);

        // Every documented setting is spelled out in the file, with its default, under CometBFT's names.
        var text = File.ReadAllText(home.ConfigPath);
        string[] expected =
        [
            "moniker = \"", "log_level = \"info\"", "log_format = \"plain\"", "node_key_file = \"config/node_key.json\"",
            "[rpc]", "laddr = \"tcp://127.0.0.1:26657\"",
            "[p2p]", "laddr = \"tcp://0.0.0.0:26656\"", "external_address = \"\"", "seeds = \"\"", "persistent_peers = \"\"",
            "addr_book_file = \"config/addrbook.json\"", "addr_book_strict = true", "max_num_inbound_peers = 40",
            "max_num_outbound_peers = 10", "unconditional_peer_ids = \"\"", "persistent_peers_max_dial_period = \"0s\"",
            "flush_throttle_timeout = \"100ms\"", "max_packet_msg_payload_size = 1024", "send_rate = 0", "recv_rate = 0",
            "pex = true", "seed_mode = false", "private_peer_ids = \"\"", "allow_duplicate_ip = false",
            "handshake_timeout = \"20s\"", "dial_timeout = \"3s\"",
            "[instrumentation]", "prometheus = false", "prometheus_listen_addr = \":26660\"", "namespace = \"cometbft\"",
            "[switchboard]", "chain_id = \"switchboard\"", "echo_channel = \"\"", "nat = false", "reconnect_max_attempts = 0",
            "[switchboard.mconnection]", "ping_interval = \"1m\"", "pong_timeout = \"45s\"", "max_buffered_bytes = 33554432", "max_read_pause = \"30s\"", "write_stall_timeout = \"30s\"",
        ];
        foreach (var line in expected) Assert.Contains("\n" + line, text);
        Assert.DoesNotContain("config.json", Directory.GetFiles(Path.Combine(home.Path, "config")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task InitIsIdempotent()
    {
        using var home = CliHarness.NewHome();
        var first = await _cli.RunAsync("init", "--home", home.Path);
        var key = File.ReadAllBytes(home.KeyPath);
        var config = File.ReadAllBytes(home.ConfigPath);

        var second = await _cli.RunAsync("init", "--home", home.Path);

        Assert.Equal(0, second.ExitCode);
        Assert.Equal(key, File.ReadAllBytes(home.KeyPath));
        Assert.Equal(config, File.ReadAllBytes(home.ConfigPath));
        Assert.Equal(2, second.Output.Split("exists, kept").Length - 1);
        Assert.Equal(first.Output.Split('\n')[2], second.Output.Split('\n')[2]); // the node ID line
    }

    [Fact]
    public async Task InitKeepsAnExistingKeyAndAddsOnlyTheMissingConfig()
    {
        using var home = CliHarness.NewHome();
        using var existing = NodeKey.Generate();
        Directory.CreateDirectory(Path.GetDirectoryName(home.KeyPath)!);
        existing.Save(home.KeyPath);
        var before = File.ReadAllBytes(home.KeyPath);

        var result = await _cli.RunAsync("init", "--home", home.Path);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(before, File.ReadAllBytes(home.KeyPath));
        Assert.Contains($"node ID   {existing.Id}", result.Output);
        Assert.True(File.Exists(home.ConfigPath));
    }

    [Fact]
    public async Task ShowNodeIdPrintsTheKeysId()
    {
        using var home = CliHarness.NewHome();
        await _cli.RunAsync("init", "--home", home.Path);
        using var key = NodeKey.Load(home.KeyPath);

        var result = await _cli.RunAsync("show-node-id", "--home", home.Path);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(key.Id.ToString(), result.Output.Trim());
    }

    [Fact]
    public async Task ShowNodeIdWithoutAKeyIsAClearUsageError()
    {
        using var home = CliHarness.NewHome();

        var result = await _cli.RunAsync("show-node-id", "--home", home.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no node key", result.Error);
        Assert.Contains("switchboard init", result.Error);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task AMalformedKeyFileIsAUsageErrorAndIsLeftAlone()
    {
        using var home = CliHarness.NewHome();
        Directory.CreateDirectory(Path.GetDirectoryName(home.KeyPath)!);
        File.WriteAllText(home.KeyPath, "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"AAAA\"}}");

        var init = await _cli.RunAsync("init", "--home", home.Path);
        var show = await _cli.RunAsync("show-node-id", "--home", home.Path);

        Assert.Equal(2, init.ExitCode);
        Assert.Equal(2, show.ExitCode);
        Assert.Contains("node_key.json", show.Error);
        Assert.Contains("AAAA", File.ReadAllText(home.KeyPath));
    }
}
