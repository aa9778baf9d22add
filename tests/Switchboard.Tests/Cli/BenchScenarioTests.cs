using Switchboard.Cli.Bench;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Cli;

/// <summary>The many-peers and idle-peers bench scenarios at a few peers: they run end to end and report sane figures
/// (no timed assertions: performance is the bench's business). They read process-wide memory, so they run in the
/// collection that runs alone.</summary>
[Collection(SimulationCollection.Name)]
public class BenchScenarioTests(ITestOutputHelper output)
{
    /// <summary>Both scenarios at their defaults (50 busy peers, 1,000 idle peers), figures in the test output.</summary>
    [LongFact]
    public async Task Defaults_ReportTheirFigures()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var many = await ManyPeersScenario.RunAsync(new ManyPeersOptions(), output.WriteLine, cts.Token);
        output.WriteLine(many.ToString());
        var idle = await IdlePeersScenario.RunAsync(new IdlePeersOptions(), output.WriteLine, cts.Token);
        output.WriteLine(idle.ToString());
        output.WriteLine($"baseline {idle.Baseline}; loaded {idle.Loaded}; file limit {idle.FileLimit}");
        Assert.Equal(1000, idle.Peers);
        // The MConnection's output buffer is one of the idle peer's buffers; the same run with an 8 KiB one shows its share.
        var small = await IdlePeersScenario.RunAsync(new IdlePeersOptions(HubConnection: new Switchboard.Conn.MConnectionOptions { WriteBufferSize = 8192 }),
            output.WriteLine, cts.Token);
        output.WriteLine("WriteBufferSize 8 KiB: " + small);
    }

    [Fact]
    public async Task ManyPeers_DeliversEveryMessageAndReportsRatesAndLatency()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lines = new List<string>();
        var result = await ManyPeersScenario.RunAsync(new ManyPeersOptions(Peers: 4, MessageSize: 256, MessagesPerPeer: 500), lines.Add, cts.Token);
        Assert.Equal(4, result.Peers);
        Assert.Equal(2000, result.Messages);
        Assert.Equal(2000L * 256, result.Bytes);
        Assert.True(result.Seconds > 0 && result.ConnectSeconds > 0);
        Assert.True(result.MegabytesPerSecond > 0 && result.MessagesPerSecond > 0);
        Assert.True(result.LatencyP50Micros > 0 && result.LatencyP99Micros >= result.LatencyP50Micros, result.ToString());
        Assert.Contains("msgs/s", result.ToString());
        Assert.Contains(lines, l => l.Contains("connecting 4 peers"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IdlePeers_MeasuresTheGrowthPerPeer(bool inProcess)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var lines = new List<string>();
        var result = await IdlePeersScenario.RunAsync(new IdlePeersOptions(Peers: 4, ClientsInProcess: inProcess), lines.Add, cts.Token);
        Assert.Equal(4, result.Peers);
        Assert.Equal(3, result.MeasuredPeers);
        Assert.Equal(inProcess, result.BothEnds);
        Assert.True(result.Baseline.ResidentBytes > 0 && result.Loaded.ResidentBytes > 0);
        Assert.True(result.Baseline.ManagedHeapBytes > 0 && result.Loaded.ManagedHeapBytes > 0 && result.Loaded.Threads > 0);
        // Per-peer growth of process-wide figures: finite, and within what 3 peers could plausibly add or a GC give
        // back (at 3 peers the noise of the rest of the process is of the same order as the signal).
        Assert.All(new[] { result.ResidentPerPeer, result.ManagedPerPeer, result.GcCommittedPerPeer },
            v => Assert.True(double.IsFinite(v) && Math.Abs(v) < 64 << 20, result.ToString()));
        Assert.True(result.ConnectSeconds > 0);
        Assert.Contains("KiB per peer", result.ToString());
        Assert.Contains(inProcess ? "both ends" : "child process", result.ToString());
        Assert.Contains(lines, l => l.Contains("warming up"));
    }
}
