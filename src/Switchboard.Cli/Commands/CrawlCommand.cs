using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
using Switchboard.Cli.Views;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Transport;

namespace Switchboard.Cli.Commands;

/// <summary>One node found by <c>crawl</c>, as printed (channels as hex, like <c>probe</c>).</summary>
internal sealed record CrawlNodeReport(string Id, string? Address, bool Reachable, string? Moniker, string? Version,
    string? Network, string? ListenAddr, string Channels, int AddressesReturned, string? Error, double ElapsedMs)
{
    public static CrawlNodeReport From(CrawledNode n) => new(n.Id.ToString(), n.Address?.DialString, n.Reachable, n.Moniker,
        n.Version, n.Network, n.ListenAddr, Convert.ToHexStringLower([.. n.Channels]), n.AddressesReturned, n.Error,
        Math.Round(n.Elapsed.TotalMilliseconds, 1));

    /// <summary>"reachable, 7 addresses", "reachable; no PEX answer within 10 s", "unreachable: connection refused".</summary>
    public string Status => (Reachable, Error) switch
    {
        (true, null) => string.Create(CultureInfo.InvariantCulture, $"reachable, {AddressesReturned} address{(AddressesReturned == 1 ? "" : "es")}"),
        (true, { } e) => "reachable; " + e,
        (false, { } e) => "unreachable: " + e,
        (false, null) => "unreachable",
    };
}

/// <summary>
/// <c>switchboard crawl --seeds id@host:port,...</c>: walks a network by PEX without joining it. A Switch that does
/// not listen, with a throw-away key, dials each node, asks it for addresses once and hangs up
/// (<see cref="PexCrawler"/>). Progress goes to standard error (<see cref="CrawlProgressView"/>); the table
/// (<see cref="CrawlView"/>) or a JSON array to standard output. Ctrl-C or SIGTERM ends it early with what it found.
/// Exit 0 when at least one node was reached.
/// </summary>
internal static class CrawlCommand
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static Command Create(CliEnvironment environment)
    {
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated id@host:port nodes to start from (seeds or any PEX node)", Required = true };
        var chainId = CommandSupport.ChainId("Chain ID to announce; nodes of another chain refuse us (default \"switchboard\")");
        var maxNodes = new Option<int>("--max-nodes") { Description = "Most nodes dialed, seeds included", DefaultValueFactory = _ => 1000 };
        var timeout = CommandSupport.Timeout(DefaultTimeout, "Limit for the whole crawl; it ends with what it found");
        var json = CommandSupport.Flag("--json", "Print a JSON array with one object per node instead of the table");
        var command = new Command("crawl", "Walk a network by peer exchange without joining it; list every node found and whether it was reachable");
        foreach (var o in new Option[] { seeds, chainId, maxNodes, timeout, json }) command.Options.Add(o);

        CommandSupport.SetAction(command, environment, async context =>
        {
            var starts = StartCommand.SplitList(context.Get(seeds)).Select(s => ProbeCommand.ParseTarget(s, "--seeds")).ToList();
            if (starts.Count == 0) throw new ConfigException("--seeds: give at least one id@host:port");
            var limit = context.Get(maxNodes);
            if (limit < 1) throw new ConfigException($"--max-nodes: must be at least 1 (got {limit})");
            var switchOptions = new SwitchOptions
            {
                Network = CommandSupport.CheckChainId(context.Get(chainId) ?? new SwitchOptions().Network),
                Moniker = "switchboard-crawl",
                // Nodes of a local test network share one IP; the crawler holds each connection only for one exchange.
                AllowDuplicateIp = true,
            };
            var crawler = new CrawlerOptions { MaxNodes = limit, Timeout = context.Get(timeout) ?? DefaultTimeout };

            using var key = NodeKey.Generate();
            var transport = new TcpTransport(key, new TransportOptions { AllowDuplicateIp = true },
                context.LoggerFactory.CreateLogger("Switchboard.Transport"));
            var progress = new CrawlProgressView(ViewOutput.For(context.Error, context.Environment.IsTerminal(context.Error)),
                starts.Select(s => s.Id).Distinct().Count(), limit);
            // Ctrl-C or SIGTERM (the host's console lifetime) ends the crawl early with what it found so far.
            await using var stop = await CommandStop.StartAsync(context, context.LoggerFactory.CreateLogger("Switchboard.Cli.Crawl"));
            List<CrawlNodeReport> nodes;
            string summary;
            try
            {
                var result = await progress.RunAsync(() => PexCrawler.RunAsync(transport, key, switchOptions, starts, crawler, progress.Report,
                    context.LoggerFactory, stop.Token));
                nodes = [.. result.Nodes.Select(CrawlNodeReport.From)];
                summary = Summary(nodes, result.Discovered);
                if (result.TimedOut) summary += $"; stopped at the {Duration.Format(crawler.Timeout)} timeout";
                if (result.LimitReached) summary += string.Create(CultureInfo.InvariantCulture, $"; --max-nodes {crawler.MaxNodes} reached, some addresses not visited");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                nodes = [.. progress.Visited];
                summary = Summary(nodes, progress.Discovered) + "; interrupted";
            }

            if (context.Get(json)) await context.Out.WriteLineAsync(JsonSerializer.Serialize(nodes, CliJsonContext.Output.ListCrawlNodeReport));
            else CrawlView.Write(ViewOutput.For(context.Out, context.Environment.IsTerminal(context.Out)), nodes, summary);
            return nodes.Any(n => n.Reachable) ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    private static string Summary(IReadOnlyList<CrawlNodeReport> nodes, int discovered) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{nodes.Count} node{(nodes.Count == 1 ? "" : "s")} visited, {nodes.Count(n => n.Reachable)} reachable, {discovered} discovered");
}

/// <summary>Left-aligned text columns separated by two spaces; the last column is not padded.</summary>
internal static class TextTable
{
    public static List<string> Format(IReadOnlyList<string> header, IReadOnlyList<string[]> rows, ISet<int>? rightAligned = null)
    {
        var widths = header.Select(h => h.Length).ToArray();
        foreach (var r in rows)
            for (var i = 0; i < widths.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        string Line(IReadOnlyList<string> cells) => string.Join("  ", cells.Select((c, i) =>
            i == cells.Count - 1 && rightAligned?.Contains(i) != true ? c
            : rightAligned?.Contains(i) == true ? c.PadLeft(widths[i]) : c.PadRight(widths[i])));
        return [Line(header), .. rows.Select(r => Line(r))];
    }
}
