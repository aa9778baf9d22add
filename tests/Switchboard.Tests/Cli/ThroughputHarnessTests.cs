using Switchboard.Cli.Bench;

namespace Switchboard.Tests.Cli;

public class ThroughputHarnessTests
{
    [Fact]
    public async Task RunsEveryMeasurementAndRendersRatios()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lines = new List<string>();
        var report = await ThroughputHarness.RunAsync(new HarnessOptions([256, 64 * 1024], 1 << 20, 50), lines.Add, cts.Token);
        Assert.Equal(3, report.Stack.Count); // 256 B, 64 KiB, and 64 KiB with pooled delivery
        Assert.All(report.Stack, s => Assert.True(s.Bytes >= (1 << 20) - s.MessageSize && s.Seconds > 0));
        Assert.True(report.RawTcp.Bytes == 1 << 20 && report.RawAead.Bytes == 1 << 20);
        Assert.True(report.LatencyP50Micros > 0 && report.LatencyP99Micros >= report.LatencyP50Micros);
        var table = ThroughputHarness.Render(report);
        Assert.Contains("vs raw TCP", table);
        Assert.Contains("stack, 64 KiB messages", table);
        Assert.Contains("stack, pooled delivery, 64 KiB messages", table);
        Assert.Contains(lines, l => l.Contains("latency"));
    }
}
