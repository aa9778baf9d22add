using Switchboard.Cli;
using Switchboard.Cli.Hosting.Netns;
using Switchboard.Tests.Cli;
using Switchboard.Tests.Support;
using Tomlyn;
using Tomlyn.Model;

namespace Switchboard.Tests.Netns;

public sealed class ScenarioTests
{
    private static Scenario Parse(string toml) => Scenario.FromToml(TomlSerializer.Deserialize<TomlTable>(toml)!);

    [Fact]
    public void ReadsLinksFaultsAndACycle()
    {
        var s = Parse("""
            nodes = 5
            duration = "3m"
            seed = 7
            [link]
            delay = "50ms"
            jitter = "20ms"
            loss = 1
            reorder = 0.5
            rate = "10mbit"
            [cycle]
            start = "10s"
            every = "1m"
            hold = "20s"
            actions = ["partition"]
            [[fault]]
            at = "45s"
            action = "kill"
            nodes = [2]
            down = "4s"
            """);
        Assert.Equal(5, s.Nodes);
        Assert.Equal(TimeSpan.FromMinutes(3), s.Duration);
        Assert.Equal(TimeSpan.FromMilliseconds(50), s.Link.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(20), s.Link.Jitter);
        Assert.Equal(0.01, s.Link.Loss, 6);
        Assert.Equal(0.005, s.Link.Reorder, 6);
        Assert.Equal(10_000_000, s.Link.RateBitsPerSecond);
        // 10 s, 70 s, 130 s: three partitions, each healed 20 s later; the kill in between.
        Assert.Equal(["10s partition", "30s heal", "45s kill 2", "1m10s partition", "1m30s heal", "2m10s partition", "2m30s heal"],
            s.Faults.Select(f => f.ToString()).ToList());
        Assert.Equal(TimeSpan.FromSeconds(4), s.Faults.Single(f => f.Action == FaultAction.Kill).Down);
        s.Validate();
    }

    [Fact]
    public void TheSoakFileHasAFaultAndAHealEveryMinuteForTenMinutes()
    {
        var s = Scenario.Load(Path.Combine(RepoPaths.Root, "scenarios", "soak-16x10m.toml"));
        s.Validate();
        Assert.Equal(16, s.Nodes);
        Assert.Equal(TimeSpan.FromMinutes(10), s.Duration);
        Assert.Equal(10, s.Faults.Count(f => f.Action is FaultAction.Cut or FaultAction.Partition));
        Assert.Equal(10, s.Faults.Count(f => f.Action is FaultAction.Heal));
        Assert.Equal(1, s.Faults.Count(f => f.Action is FaultAction.Kill));
        Assert.Equal(1, s.Faults.Count(f => f.Action is FaultAction.Restart));
    }

    [Theory]
    [InlineData("nodez = 3", "nodez: unknown key")]
    [InlineData("[link]\nloss = 150", "loss: must be 0 to 100")]
    [InlineData("[link]\ndelay = 50", "delay: must be a string")]
    [InlineData("[link]\nrate = \"fast\"", "link.rate: \"fast\" is not a rate")]
    [InlineData("[[fault]]\nat = \"1s\"\naction = \"explode\"", "\"explode\" is not cut, partition, heal, restart or kill")]
    public void RefusesWhatItDoesNotUnderstand(string toml, string error)
    {
        var ex = Assert.Throws<ConfigException>(() => Parse(toml));
        Assert.Contains(error, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateRefusesFaultsOutsideTheRunOrOnUnknownNodes()
    {
        Assert.Throws<ConfigException>(() => Parse("nodes = 3\nduration = \"10s\"\n[[fault]]\nat = \"20s\"\naction = \"heal\"").Validate());
        Assert.Throws<ConfigException>(() => Parse("nodes = 3\n[[fault]]\nat = \"1s\"\naction = \"cut\"\nnodes = [0, 3]").Validate());
        Assert.Throws<ConfigException>(() => Parse("nodes = 3\n[[fault]]\nat = \"1s\"\naction = \"cut\"\nnodes = [1, 1]").Validate());
    }

    [Fact]
    public async Task TheCommandReportsABadScenarioAsAUsageError()
    {
        var cli = new CliHarness();
        var missing = await cli.RunAsync("testnet", "--netns", "--scenario", "/nonexistent/scenario.toml");
        Assert.Equal(ExitCodes.Usage, missing.ExitCode);
        Assert.Contains("error: --scenario /nonexistent/scenario.toml", missing.Error, StringComparison.Ordinal);
        var loss = await cli.RunAsync("testnet", "--netns", "--loss", "150");
        Assert.Equal(ExitCodes.Usage, loss.ExitCode);
        Assert.Contains("--loss: must be 0 to 100", loss.Error, StringComparison.Ordinal);
    }
}
