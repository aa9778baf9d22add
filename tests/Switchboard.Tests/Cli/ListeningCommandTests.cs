using Switchboard.Cli.Hosting;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>
/// How <c>start</c> listens and refuses: a port in use, refusals in the log, a node with nothing to offer, the peer
/// limit and address-book flags, and the README's one-host seed recipe.
/// </summary>
public class ListeningCommandTests
{
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task ASecondNodeOnThePortOfARunningNodeFailsWithAddressAlreadyInUse()
    {
        using var firstHome = CliHarness.NewHome();
        using var secondHome = CliHarness.NewHome();
        await using var first = await _cli.StartNodeAsync(firstHome, "--laddr", "tcp://127.0.0.1:0", "--echo", "0x77");
        var port = first.Host.ListenAddress!.Port;

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var second = await _cli.RunAsync(["start", "--home", secondHome.Path, "--laddr", $"tcp://127.0.0.1:{port}", "--echo", "0x77"], deadline.Token);

        Assert.True(second.ExitCode == 1, second.ToString());
        Assert.Contains($"error: cannot listen on 127.0.0.1:{port}: address already in use", second.Error);
        // The first node still owns every connection to the port: a probe reaches it, not a half-started second node.
        var probe = await _cli.RunAsync("probe", first.Address, "--channels", "77");
        Assert.True(probe.ExitCode == 0, probe.ToString());
        // The node that could not listen never ran: no "Node … stopped" line for it.
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("Switchboard.Cli.Node: Node", StringComparison.Ordinal)
            && l.Contains("stopped", StringComparison.Ordinal));
        // The error is said once, by the command: the Generic Host it runs on does not repeat it as "Hosting failed to start".
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("Hosting failed to start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARefusedInboundConnectionIsLoggedAtInformationWithTheReason()
    {
        using var home = CliHarness.NewHome();
        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "0x77");

        var probe = await _cli.RunAsync("probe", node.Address, "--channels", "40");

        Assert.Equal(1, probe.ExitCode);
        await Eventually.TrueAsync(() => _cli.Logs.Any(l => l.Contains("refused:", StringComparison.Ordinal)), "the node logged the refusal");
        var line = Assert.Single(_cli.Logs, l => l.Contains("refused:", StringComparison.Ordinal));
        Assert.StartsWith("Information Switchboard.Transport: Inbound connection from 127.0.0.1:", line);
        Assert.Contains("Incompatible: incompatible peer: no common channel", line);
    }

    [Fact]
    public async Task ADuplicateIpRefusalIsExplainedOnBothSides()
    {
        using var aHome = CliHarness.NewHome();
        using var bHome = CliHarness.NewHome();
        await using var a = await _cli.StartNodeAsync(aHome, "--laddr", "tcp://127.0.0.1:0", "--echo", "0x77");
        await using var b = await _cli.StartNodeAsync(bHome, "--laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "0x77",
            "--persistent-peers", a.Address);
        await Eventually.TrueAsync(() => a.Host.Switch.Peers.Count == 1, "b connected to a");

        // A second connection from 127.0.0.1 while allow_duplicate_ip is off: a closes it before the handshake.
        var probe = await _cli.RunAsync("probe", a.Address);

        Assert.Equal(1, probe.ExitCode);
        Assert.Contains("protocol violation (Truncated)", probe.Output);
        Assert.Contains("it may have refused us", probe.Output);
        await Eventually.TrueAsync(() => _cli.Logs.Any(l => l.Contains("refused: Filtered: duplicate IP 127.0.0.1 (allow_duplicate_ip is off)",
            StringComparison.Ordinal)), "a logged why it refused the probe");
    }

    [Fact]
    public async Task ANodeWithoutChannelsIsRefusedAtStartSayingWhatToEnable()
    {
        using var home = CliHarness.NewHome();

        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var result = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0", "--pex", "false"], deadline.Token);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("no channels", result.Error);
        Assert.Contains("--pex true", result.Error);
        Assert.Contains("--echo 0x77", result.Error);
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("listening on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PeerLimitAndAddressBookFlagsOverrideTheConfig()
    {
        using var home = CliHarness.NewHome();

        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--allow-duplicate-ip", "true",
            "--addr-book-strict", "false", "--max-inbound-peers", "5", "--max-outbound-peers", "3");

        Assert.True(node.Host.Settings.Switch.AllowDuplicateIp);
        Assert.True(node.Host.Settings.Transport.AllowDuplicateIp);
        Assert.Equal(5, node.Host.Settings.Switch.MaxInboundPeers);
        Assert.Equal(3, node.Host.Settings.Switch.MaxOutboundPeers);
        Assert.False(NodePex.Of(node.Host)!.Book.Options.Strict);
    }

    [Fact]
    public async Task AStrictBookWithALoopbackSeedIsWarnedAbout()
    {
        using var home = CliHarness.NewHome();
        using var seedKey = Switchboard.Crypto.NodeKey.Generate();

        await using var node = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--seeds", $"{seedKey.Id}@127.0.0.1:1");

        Assert.Contains(_cli.Logs, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("--addr-book-strict false", StringComparison.Ordinal));
    }

    /// <summary>The README's recipe: a seed and two nodes on 127.0.0.1, each node given only the seed.</summary>
    [Fact]
    public async Task TheOneHostSeedRecipeFormsANetwork()
    {
        using var seedHome = CliHarness.NewHome();
        using var aHome = CliHarness.NewHome();
        using var bHome = CliHarness.NewHome();
        string[] oneHost = ["--laddr", "tcp://127.0.0.1:0", "--addr-book-strict", "false", "--allow-duplicate-ip", "true"];
        await using var seed = await _cli.StartNodeAsync(seedHome, [.. oneHost, "--seed-mode"]);
        var seedBook = NodePex.Of(seed.Host)!.Book;

        await using var a = await _cli.StartNodeAsync(aHome, [.. oneHost, "--seeds", seed.Address]);
        // Once the seed has a's address, b's first request to the seed returns it.
        await Eventually.TrueAsync(() => seedBook.Size > 0, "the seed learned a's address");
        await using var b = await _cli.StartNodeAsync(bHome, [.. oneHost, "--seeds", seed.Address]);

        await Eventually.TrueAsync(() => a.Host.Switch.GetPeer(b.Host.Id) is not null && b.Host.Switch.GetPeer(a.Host.Id) is not null,
            "a and b are connected");
        Assert.DoesNotContain(_cli.Logs, l => l.Contains("--addr-book-strict false", StringComparison.Ordinal));
    }
}
