using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting.Netns;

using Switchboard.Cli.Hosting;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard testnet --netns</c>: the chaos testnet (<see cref="NetnsTestnet"/>). The scenario comes from
/// <c>--scenario FILE</c> (TOML, README "Chaos testnet") and/or the flags, which override the file. Exit 0 when the
/// verdict passed, 1 when it failed, 2 for a usage error or a machine that cannot run it (not root, no iproute2/TUN).
/// </summary>
internal static class NetnsTestnetCommand
{
    /// <summary>The flags <c>testnet</c> takes for <c>--netns</c>.</summary>
    internal sealed class Flags
    {
        public Option<bool> Netns { get; } = CommandSupport.Flag("--netns",
            "Chaos testnet: every node in its own network namespace (needs root), links shaped and faults scripted; see --scenario");

        public Option<string?> Scenario { get; } = new("--scenario") { Description = "With --netns: a TOML scenario file (links, faults over time; README \"Chaos testnet\")" };

        public Option<TimeSpan?> Delay { get; } = CommandSupport.DurationOption("--delay", "With --netns: one-way delay of every link, e.g. 50ms");

        public Option<TimeSpan?> Jitter { get; } = CommandSupport.DurationOption("--jitter", "With --netns: ± this much on the delay (uniform), e.g. 20ms");

        public Option<double?> Loss { get; } = new("--loss") { Description = "With --netns: packet loss in percent, e.g. 1" };

        public Option<double?> Reorder { get; } = new("--reorder") { Description = "With --netns: percent of packets sent without the delay (they overtake)" };

        public Option<string?> Rate { get; } = new("--rate") { Description = "With --netns: rate of every link, e.g. 10mbit (0: unlimited)" };

        public Option<TimeSpan?> FaultEvery { get; } = CommandSupport.DurationOption("--fault-every",
            "With --netns: a cut or a partition (in turn) every this long, each healed after --fault-hold (default: the scenario's faults only)");

        public Option<TimeSpan?> FaultHold { get; } = CommandSupport.DurationOption("--fault-hold", "With --netns: how long each fault of --fault-every lasts (default 20s)");

        public IEnumerable<Option> All => [Netns, Scenario, Delay, Jitter, Loss, Reorder, Rate, FaultEvery, FaultHold];
    }

    public static async Task<int> RunAsync(CommandContext context, Flags flags, Option<int> nodes, Option<TimeSpan?> duration, Option<bool> keep,
        Option<bool> json, Option<string?> chainId)
    {
        var scenario = context.Get(flags.Scenario) is { } file ? Scenario.Load(file) : new Scenario();
        if (context.IsSet(nodes)) scenario = scenario with { Nodes = context.Get(nodes) };
        if (context.Get(duration) is { } d) scenario = scenario with { Duration = d };
        var link = scenario.Link;
        if (context.Get(flags.Delay) is { } delay) link = link with { Delay = delay };
        if (context.Get(flags.Jitter) is { } jitter) link = link with { Jitter = jitter };
        if (context.Get(flags.Loss) is { } loss) link = link with { Loss = Percent(loss, "--loss") };
        if (context.Get(flags.Reorder) is { } reorder) link = link with { Reorder = Percent(reorder, "--reorder") };
        if (context.Get(flags.Rate) is { } rate) link = link with { RateBitsPerSecond = Scenario.ParseRate(rate, "--rate") };
        scenario = scenario with { Link = link };
        if (context.Get(flags.FaultEvery) is { } every)
        {
            var hold = context.Get(flags.FaultHold) ?? TimeSpan.FromSeconds(20);
            scenario = scenario with
            {
                Faults = [.. scenario.Faults.Concat(Scenario.Cycle(TimeSpan.FromSeconds(10), every, hold, [FaultAction.Cut, FaultAction.Partition],
                    scenario.Duration, TimeSpan.FromSeconds(3))).OrderBy(f => f.At)],
            };
        }
        scenario.Validate();
        // Before anything is printed or made: not root, no iproute2, no TUN.
        if (Hosting.Netns.Netns.Unavailable() is { } reason)
        {
            await context.Error.WriteLineAsync($"error: testnet --netns: {reason}");
            return ExitCodes.Usage;
        }
        var chain = CommandSupport.CheckChainId(context.Get(chainId) ?? "switchboard-chaos");
        var jsonOut = context.Get(json);
        var keepHomes = context.Get(keep);
        var progress = jsonOut ? context.Error : context.Out;
        var logger = context.LoggerFactory.CreateLogger("Switchboard.Cli.Testnet");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        await using var signals = context.Environment.HandleSignals ? await CommandHost.StopOnSignalsAsync(context, stop, logger) : null;
        var root = Directory.CreateTempSubdirectory("switchboard-chaos-").FullName;
        var c = CultureInfo.InvariantCulture;
        try
        {
            progress.WriteLine(string.Create(c,
                $"testnet --netns: {scenario.Nodes} nodes in network namespaces, {Duration.Format(scenario.Duration)} of faults after formation, links: {scenario.Link}; homes in {root}{(keepHomes ? " (kept)" : " (deleted at the end)")}"));
            foreach (var f in scenario.Faults) progress.WriteLine("  fault: " + f);
            progress.Flush();
            ChaosReport report;
            try
            {
                await using var net = await NetnsTestnet.StartAsync(new NetnsTestnetOptions
                {
                    Scenario = scenario,
                    Root = root,
                    ChainId = chain,
                    NodeLogLevel = context.IsSet(CommandSupport.LogLevelOption) ? context.LogSettings.Level.ToString() : "Warning",
                }, progress, stop.Token);
                report = await net.RunAsync(stop.Token);
            }
            catch (NetnsUnavailableException ex)
            {
                await context.Error.WriteLineAsync($"error: testnet --netns: {ex.Message}");
                return ExitCodes.Usage;
            }
            if (keepHomes) report = report with { Home = root };
            if (jsonOut)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(report, CliJsonContext.Output.ChaosReport));
            }
            else
            {
                foreach (var line in Describe(report)) await context.Out.WriteLineAsync(line);
                if (keepHomes) await context.Out.WriteLineAsync($"homes and node logs kept in {root}");
            }
            return report.Ok ? ExitCodes.Ok : ExitCodes.Failure;
        }
        finally
        {
            if (!keepHomes)
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Best effort: it is under the temp folder.
                }
            }
        }
    }

    private static double Percent(double value, string name) =>
        value is >= 0 and <= 100 ? value / 100 : throw new ConfigException($"{name}: must be 0 to 100 (percent)");

    /// <summary>The verdict as text: totals, reconnections, each node's end state, then the one-line status.</summary>
    public static IEnumerable<string> Describe(ChaosReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var t = r.Totals;
        yield return string.Create(c, $"messages: {t.Published} published, {t.Delivered} delivered; corrupted {t.Corrupted}, reordered within channel {t.ReorderedWithinChannel}, " +
            $"duplicates (dropped) {t.Duplicates}, late {t.Late}, lost {t.Lost}, channel gaps {t.ChannelGaps}, sends dropped on full queues {t.DroppedSends}");
        var l = r.Links;
        yield return string.Create(c, $"links: {l.Forwarded} packets forwarded, {l.Lost} lost (loss), {l.Cut} dropped by faults, {l.QueueDrops} queue drops, {l.Reordered} reordered");
        foreach (var rec in r.Recoveries)
            yield return rec.Ok
                ? string.Create(c, $"reconnect: {rec.Label}: {rec.ReconnectSeconds:0.0} s")
                : $"reconnect: {rec.Label}: NOT within the timeout (missing {string.Join(", ", rec.Pending)})";
        foreach (var n in r.Nodes)
            yield return string.Create(c, $"{n.Name} {n.Id[..12]} {n.Address}: {(n.RunningAtEnd ? "running" : "DOWN")}, {n.Processes} process(es), peers {string.Join(",", n.Peers)}");
        yield return r.Status;
    }
}
