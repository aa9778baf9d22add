using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
using Switchboard.Cli.Views;

namespace Switchboard.Cli.Commands;

/// <summary>What <c>testnet --json</c> prints.</summary>
internal sealed record TestnetReport(bool Ok, string Status, string ChainId, int NodeCount, string Seed, double? FormedAfterSeconds,
    double ElapsedSeconds, int Links, string? Home, IReadOnlyList<TestnetNodeStats> Nodes);

/// <summary>
/// <c>switchboard testnet</c>: a seed and N nodes on 127.0.0.1 in this process (<see cref="Testnet"/>) that find each
/// other by PEX and gossip on channel 0x77, with a live table. Formed = every node has at least min(2, N − 1) peers
/// among the nodes, knows the addresses of N − 1 others (at most 10) and has received gossip from every other node.
/// Without <c>--duration</c> it ends as soon as the network has formed (exit 0) or fails at <c>--timeout</c> (exit 1);
/// with <c>--duration</c> it runs that long and judges the network at the end.
/// </summary>
internal static class TestnetCommand
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    // How often formation is checked; the table is redrawn about once a second.
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromSeconds(1);
    // Progress lines when the output is not a terminal: on every change of the verdict, else every 10 s.
    private static readonly TimeSpan QuietProgressInterval = TimeSpan.FromSeconds(10);

    public static Command Create(CliEnvironment environment)
    {
        var nodes = new Option<int>("--nodes") { Description = "Nodes besides the seed (2 to 100)", DefaultValueFactory = _ => 8 };
        var duration = CommandSupport.DurationOption("--duration",
            "Run this long, then judge the network (default: end as soon as it has formed)");
        var timeout = CommandSupport.Timeout(DefaultTimeout, "Without --duration: give up if the network has not formed by then");
        var basePort = new Option<int>("--base-port") { Description = "Seed port; node i listens on base+i (default 0: free ports)", DefaultValueFactory = _ => 0 };
        var chainId = CommandSupport.ChainId("Chain ID of the testnet (default \"switchboard-testnet\")");
        var keep = CommandSupport.Flag("--keep", "Keep the node homes (keys, configs, address books) instead of deleting them");
        var json = CommandSupport.Json();
        var command = new Command("testnet", "Start a seed and N nodes on 127.0.0.1 that find each other by PEX and gossip; show them live; exit 0 once the network formed");
        foreach (var o in new Option[] { nodes, duration, timeout, basePort, chainId, keep, json }) command.Options.Add(o);
        var netns = new NetnsTestnetCommand.Flags();
        foreach (var o in netns.All) command.Options.Add(o);

        CommandSupport.SetAction(command, environment, async context =>
        {
            if (context.Get(netns.Netns)) return await NetnsTestnetCommand.RunAsync(context, netns, nodes, duration, keep, json, chainId);
            var count = context.Get(nodes);
            if (count is < 2 or > 100) throw new ConfigException($"--nodes: must be 2 to 100 (got {count})");
            var port = context.Get(basePort);
            if (port != 0 && (port < 1 || port + count > ushort.MaxValue))
                throw new ConfigException($"--base-port: {port} + {count} nodes does not fit in 1–65535 (0 picks free ports)");
            var chain = CommandSupport.CheckChainId(context.Get(chainId) ?? TestnetOptions.DefaultChainId);
            var run = new Run(context, count, port, chain, context.Get(duration), context.Get(timeout) ?? DefaultTimeout,
                context.Get(keep), context.Get(json));
            return await run.ExecuteAsync();
        });
        return command;
    }

    private sealed class Run(CommandContext context, int count, int basePort, string chainId, TimeSpan? duration, TimeSpan timeout,
        bool keep, bool json)
    {
        private readonly TestnetView _view = new(ViewOutput.For(context.Out, !json && context.Environment.IsTerminal(context.Out)));

        /// <summary>A live table (a terminal that takes cursor movements); else progress lines and the table at the end.</summary>
        private bool Live => !_view.Output.IsPlain;

        public async Task<int> ExecuteAsync()
        {
            // The nodes log at Warning unless --log-level was given: at Information, nine nodes' peer lines would bury the table.
            using var nodeLogging = context.IsSet(CommandSupport.LogLevelOption) ? null : context.Environment.CreateLoggerFactory(context.LogSettings with { Level = LogLevel.Warning });
            var loggerFactory = nodeLogging ?? context.LoggerFactory;
            var logger = context.LoggerFactory.CreateLogger("Switchboard.Cli.Testnet");
            var root = Directory.CreateTempSubdirectory("switchboard-testnet-").FullName;
            await using var stop = await CommandStop.StartAsync(context, logger);
            var progress = json ? context.Error : context.Out;
            try
            {
                Testnet net;
                try
                {
                    net = await Testnet.StartAsync(new TestnetOptions { Nodes = count, BasePort = basePort, ChainId = chainId, Root = root },
                        loggerFactory, stop.Token);
                }
                catch (SocketException ex)
                {
                    await context.Error.WriteLineAsync($"error: testnet: cannot listen on 127.0.0.1 (--base-port {basePort}): {ex.Message}");
                    return ExitCodes.Failure;
                }
                await using (net)
                {
                    WriteHeader(net, root, progress);
                    var (final, formedAt) = Live
                        ? await _view.LiveAsync(() => WatchAsync(net, progress, stop.Token))
                        : await WatchAsync(net, progress, stop.Token);
                    await net.StopAsync();
                    return await FinishAsync(net, final, formedAt, root, stop.IsCancellationRequested);
                }
            }
            finally
            {
                if (!keep) DeleteQuietly(root);
            }
        }

        private void WriteHeader(Testnet net, string root, TextWriter output)
        {
            var c = CultureInfo.InvariantCulture;
            output.WriteLine(string.Create(c, $"testnet: a seed and {count} nodes on 127.0.0.1, chain {chainId}; homes in {root}{(keep ? " (kept)" : " (deleted at the end)")}"));
            output.WriteLine($"seed:    {net.SeedAddress}");
            output.WriteLine($"crawl:   switchboard crawl --seeds {net.SeedAddress} --chain-id {chainId}");
            var end = duration is { } d ? $"runs {Duration.Format(d)}, then judges the network" : $"ends once it has formed (limit {Duration.Format(timeout)})";
            output.WriteLine(string.Create(c,
                $"formed:  every node has >= {net.NeededPeers} peers among the nodes, knows {net.NeededKnown} others' addresses and heard gossip from all {count - 1}; {end}"));
            output.Flush();
        }

        private async Task<(TestnetSnapshot Final, TimeSpan? FormedAt)> WatchAsync(Testnet net, TextWriter progress, CancellationToken cancellationToken)
        {
            var limit = duration ?? timeout;
            TimeSpan? formedAt = null;
            TimeSpan? lastDraw = null;
            string? lastVerdict = null;
            using var timer = new PeriodicTimer(CheckInterval);
            var snapshot = net.Snapshot();
            try
            {
                while (true)
                {
                    snapshot = net.Snapshot();
                    if (snapshot.Formed) formedAt ??= snapshot.Elapsed;
                    var done = snapshot.Elapsed >= limit || (duration is null && snapshot.Formed);
                    if (Live)
                    {
                        if (done || lastDraw is not { } drawn || snapshot.Elapsed - drawn >= RedrawInterval)
                        {
                            Draw(snapshot);
                            lastDraw = snapshot.Elapsed;
                        }
                    }
                    else if (snapshot.Status != lastVerdict || lastDraw is not { } printed || snapshot.Elapsed - printed >= QuietProgressInterval)
                    {
                        progress.WriteLine(ProgressLine(snapshot, net));
                        progress.Flush();
                        lastVerdict = snapshot.Status;
                        lastDraw = snapshot.Elapsed;
                    }
                    if (done) return (snapshot, formedAt);
                    await timer.WaitForNextTickAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or the caller: report the network as it is now.
                snapshot = net.Snapshot();
                if (snapshot.Formed) formedAt ??= snapshot.Elapsed;
                return (snapshot, formedAt);
            }
        }

        private static string ProgressLine(TestnetSnapshot s, Testnet net)
        {
            var nodes = s.Nodes.Where(n => !n.Seed).ToList();
            return string.Create(CultureInfo.InvariantCulture,
                $"{s.Elapsed.TotalSeconds,6:0.0}s  links {s.Links}, fewest peers {nodes.Min(n => n.NodePeers)}, fewest known {nodes.Min(n => n.KnownNodes)}/{net.NeededKnown}, " +
                $"fewest heard {nodes.Min(n => n.OriginsHeard)}/{net.Options.Nodes - 1}, gossip {nodes.Sum(n => n.GossipReceived)} msgs | {s.Status}");
        }

        /// <summary>Redraws the live table (<see cref="TestnetView"/>).</summary>
        private void Draw(TestnetSnapshot s) => _view.Update(s);

        private async Task<int> FinishAsync(Testnet net, TestnetSnapshot final, TimeSpan? formedAt, string root, bool interrupted)
        {
            var c = CultureInfo.InvariantCulture;
            var nodes = final.Nodes.Where(n => !n.Seed).ToList();
            string status;
            if (final.Formed)
            {
                status = string.Create(c,
                    $"formed after {formedAt!.Value.TotalSeconds:0.0} s: {count} nodes, {final.Links} links between them, every node knows >= {net.NeededKnown} others " +
                    $"and heard gossip from all {count - 1} ({nodes.Sum(n => n.GossipReceived)} messages, {TestnetView.FormatBytes(nodes.Sum(n => n.BytesReceived))} received in all)");
            }
            else
            {
                var why = final.Status.StartsWith("forming: ", StringComparison.Ordinal) ? final.Status["forming: ".Length..] : final.Status;
                status = string.Create(c, $"NOT formed {(interrupted ? "when interrupted" : "within")} {final.Elapsed.TotalSeconds:0.0} s: {why}");
            }
            var report = new TestnetReport(final.Formed, status, chainId, count, net.SeedAddress,
                formedAt is { } f ? Math.Round(f.TotalSeconds, 2) : null, Math.Round(final.Elapsed.TotalSeconds, 2), final.Links,
                keep ? root : null, final.Nodes);
            if (json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(report, CliJsonContext.Output.TestnetReport));
            }
            else
            {
                // A terminal already shows the final table; elsewhere print it once, at the end.
                if (!Live) _view.WriteTable(final);
                await context.Out.WriteLineAsync(status);
                if (keep) await context.Out.WriteLineAsync($"homes kept in {root} (restart a node with: switchboard start --home {Path.Combine(root, "node-1")})");
            }
            return final.Formed ? ExitCodes.Ok : ExitCodes.Failure;
        }
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: it is under the temp folder.
        }
    }
}
