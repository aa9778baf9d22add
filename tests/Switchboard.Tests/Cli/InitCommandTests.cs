using System.Text.Json;
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

        var config = ConfigFile.Load(home.ConfigPath);
        Assert.Equal(ConfigFile.Serialize(new NodeConfig()), ConfigFile.Serialize(config));
        var settings = NodeSettings.From(config);
        Assert.Equal(26656, settings.Listen.Port);

        // Every documented setting is spelled out in the file, with its default.
        using var json = JsonDocument.Parse(File.ReadAllText(home.ConfigPath));
        var root = json.RootElement;
        Assert.Equal("tcp://0.0.0.0:26656", root.GetProperty("p2p").GetProperty("listen_address").GetString());
        Assert.Equal("switchboard", root.GetProperty("chain_id").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("moniker").GetString()));
        Assert.Equal(0, root.GetProperty("p2p").GetProperty("persistent_peers").GetArrayLength());
        Assert.Equal(40, root.GetProperty("p2p").GetProperty("max_num_inbound_peers").GetInt32());
        Assert.Equal("3s", root.GetProperty("p2p").GetProperty("dial_timeout").GetString());
        Assert.Equal("20s", root.GetProperty("p2p").GetProperty("handshake_timeout").GetString());
        Assert.False(root.GetProperty("p2p").GetProperty("allow_duplicate_ip").GetBoolean());
        Assert.False(root.GetProperty("p2p").GetProperty("nat").GetBoolean());
        Assert.Equal(0, root.GetProperty("mconnection").GetProperty("send_rate").GetInt64());
        Assert.Equal(0, root.GetProperty("mconnection").GetProperty("recv_rate").GetInt64());
        Assert.Equal("45s", root.GetProperty("mconnection").GetProperty("pong_timeout").GetString());
        Assert.Equal(1024, root.GetProperty("mconnection").GetProperty("max_packet_msg_payload_size").GetInt32());
        var pex = root.GetProperty("pex");
        Assert.Contains("Peer exchange", pex.GetProperty("comment").GetString());
        Assert.True(pex.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, pex.GetProperty("seeds").GetArrayLength());
        Assert.False(pex.GetProperty("seed_mode").GetBoolean());
        Assert.Equal("config/addrbook.json", pex.GetProperty("addr_book_file").GetString());
        Assert.True(pex.GetProperty("addr_book_strict").GetBoolean());
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
