using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Switchboard.Cli.Bench;
using Switchboard.Cli.Config;
using Switchboard.Cli.Views;

namespace Switchboard.Cli.Commands;

/// <summary>One measured line of <c>bench --json</c>; the ratios are against the baselines of the same run.</summary>
internal sealed record BenchLine(string Name, int MessageSize, long Bytes, double Seconds, double CpuSeconds, double MegabytesPerSecond,
    double MessagesPerSecond, double? VsRawTcp, double? VsRawAead)
{
    public static BenchLine From(HarnessResult r, HarnessReport report, bool ratios) => new(r.Name, r.MessageSize, r.Bytes,
        r.Seconds, r.CpuSeconds, r.MegabytesPerSecond, r.MessagesPerSecond,
        ratios ? r.MegabytesPerSecond / report.RawTcp.MegabytesPerSecond : null,
        ratios ? r.MegabytesPerSecond / report.RawAead.MegabytesPerSecond : null);
}

/// <summary>What <c>bench --json</c> prints.</summary>
internal sealed record BenchReport(BenchLine RawTcp, BenchLine RawAead, IReadOnlyList<BenchLine> Stack,
    double LatencyP50Micros, double LatencyP99Micros, double RawTcpLatencyP50Micros, string AeadPath,
    ManyPeersResult? ManyPeers, IdlePeersResult? IdlePeers, HandshakeRateResult? Handshakes)
{
    public static BenchReport From(HarnessReport r, ManyPeersResult? many, IdlePeersResult? idle, HandshakeRateResult? handshakes) =>
        new(BenchLine.From(r.RawTcp, r, false), BenchLine.From(r.RawAead, r, false),
        [.. r.Stack.Select(s => BenchLine.From(s, r, true))], r.LatencyP50Micros, r.LatencyP99Micros, r.RawTcpLatencyP50Micros, r.AeadPath,
        many, idle, handshakes);
}

/// <summary>
/// <c>switchboard bench</c>: the <see cref="ThroughputHarness"/> — the full stack between two in-process nodes over
/// loopback against raw loopback TCP and raw ChaCha20-Poly1305 measured in the same run — printed as a table (or JSON).
/// </summary>
internal static class BenchCommand
{
    /// <summary>4 MiB: the harness's channel accepts messages up to this size.</summary>
    private const int MaxSize = 4 << 20;

    public static Command Create(CliEnvironment environment)
    {
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated message sizes in bytes (1 to 4194304)", DefaultValueFactory = _ => "256,1024,65536,1048576" };
        var mb = new Option<int>("--mb") { Description = "MiB pushed for each size and for each baseline", DefaultValueFactory = _ => 64 };
        var samples = new Option<int>("--latency-samples") { Description = "Round trips of 1 KiB measured for the latency line", DefaultValueFactory = _ => 2000 };
        var peers = new Option<int>("--peers") { Description = "Many-peers scenario: peers sending 256 B messages into one node at once (0: skip)", DefaultValueFactory = _ => 50 };
        var idlePeers = new Option<int>("--idle-peers") { Description = "Idle-peers scenario: encrypted idle peers connected to one node, RSS per peer (0: skip)", DefaultValueFactory = _ => 1000 };
        var handshakes = new Option<int>("--handshakes") { Description = "Handshake-rate line: complete handshakes (SecretConnection + NodeInfo) over loopback TCP, 4 in flight (0: skip)", DefaultValueFactory = _ => 2000 };
        var json = CommandSupport.Json();
        var command = new Command("bench", "Measure throughput and latency of the full stack on loopback against raw TCP and raw AEAD (same run)");
        foreach (var o in new Option[] { sizes, mb, samples, peers, idlePeers, handshakes, json }) command.Options.Add(o);

        CommandSupport.SetAction(command, environment, async context =>
        {
            var list = ParseSizes(context.Get(sizes));
            var megabytes = context.Get(mb);
            // 16 GiB per size: far beyond any useful run, and keeps the byte count well inside a long.
            if (megabytes is < 1 or > 16384) throw new ConfigException($"--mb: must be 1 to 16384 (got {megabytes})");
            var latency = context.Get(samples);
            if (latency is < 1 or > 1_000_000) throw new ConfigException($"--latency-samples: must be 1 to 1000000 (got {latency})");

            var peerCount = context.Get(peers);
            if (peerCount is < 0 or > 10_000) throw new ConfigException($"--peers: must be 0 to 10000 (got {peerCount})");
            var idleCount = context.Get(idlePeers);
            if (idleCount is < 0 or 1 or > 100_000) throw new ConfigException($"--idle-peers: must be 0 (skip) or 2 to 100000 (got {idleCount})");
            var handshakeCount = context.Get(handshakes);
            if (handshakeCount is < 0 or > 1_000_000) throw new ConfigException($"--handshakes: must be 0 to 1000000 (got {handshakeCount})");

            var options = new HarnessOptions(list, (long)megabytes << 20, latency);
            Action<string> progress = line => context.Error.WriteLine("bench: " + line);
            var report = await ThroughputHarness.RunAsync(options, progress, context.CancellationToken);
            ManyPeersResult? many = null;
            IdlePeersResult? idle = null;
            if (peerCount > 0)
                many = await ManyPeersScenario.RunAsync(new ManyPeersOptions(Peers: peerCount), progress, context.CancellationToken);
            if (idleCount > 0)
                idle = await IdlePeersScenario.RunAsync(new IdlePeersOptions(Peers: idleCount), progress, context.CancellationToken);
            HandshakeRateResult? rate = null;
            if (handshakeCount > 0)
            {
                progress($"handshakes: {handshakeCount} over loopback TCP …");
                rate = await HandshakeRate.MeasureAsync(new HandshakeRateOptions(handshakeCount, Network: HandshakeRateNetwork.Tcp), context.CancellationToken);
            }
            report = report with { Extra = [.. new object?[] { many, idle, rate }.OfType<object>().Select(o => o.ToString()!)] };
            if (context.Get(json)) await context.Out.WriteLineAsync(JsonSerializer.Serialize(BenchReport.From(report, many, idle, rate), CliJsonContext.Output.BenchReport));
            else BenchView.Write(ViewOutput.For(context.Out, context.Environment.IsTerminal(context.Out)), report);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static List<int> ParseSizes(string text)
    {
        var list = new List<int>();
        foreach (var item in StartCommand.SplitList(text))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size is < 1 or > MaxSize)
                throw new ConfigException($"--sizes: \"{item}\" is not a size from 1 to {MaxSize} bytes");
            list.Add(size);
        }
        if (list.Count == 0) throw new ConfigException("--sizes: give at least one size");
        return list;
    }
}
