using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Switchboard.Cli.Commands;
using Switchboard.Cli.Config;
using Switchboard.Pex;

namespace Switchboard.Cli.Views;

/// <summary><c>crawl</c>'s table of the nodes found: one row per node dialed, the summary, a column legend.</summary>
internal static class CrawlView
{
    private static readonly ViewColumn[] Columns =
    [
        new("ID", "node ID"),
        new("ADDRESS", "address dialed"),
        new("MONIKER", "node name"),
        new("VERSION", "software version it announced"),
        new("NETWORK", "chain ID"),
        new("CHANNELS", "channels it announced"),
        new("STATUS", "outcome of the dial and the PEX request"),
    ];

    public static ViewTable Table(IReadOnlyList<CrawlNodeReport> nodes) => new(Columns, [.. nodes.Select(n => (IReadOnlyList<string>)
    [
        n.Id, n.Address ?? "-", n.Moniker ?? "-", n.Version ?? "-", n.Network ?? "-",
        n.Reachable ? Addresses.FormatChannels(Convert.FromHexString(n.Channels)) : "-", n.Status,
    ])]);

    /// <summary>
    /// The widest layout that fits: every column with full IDs; then IDs cut to 12 hex digits; then without the
    /// version, the network, the channels.
    /// </summary>
    public static ViewTable Fitted(ViewOutput output, IReadOnlyList<CrawlNodeReport> nodes)
    {
        var full = Table(nodes);
        var shortIds = full.Shorten("ID", 12);
        return ViewTable.Fit(output, full, shortIds, shortIds.Without("VERSION"), shortIds.Without("VERSION", "NETWORK"),
            shortIds.Without("VERSION", "NETWORK", "CHANNELS"));
    }

    /// <summary>The table, its legend, then <paramref name="summary"/> ("4 nodes visited, 4 reachable, …").</summary>
    public static void Write(ViewOutput output, IReadOnlyList<CrawlNodeReport> nodes, string summary)
    {
        var table = Fitted(output, nodes);
        output.Write(new Rows(table.ToRenderable(output), table.Legend(output), new Text(summary)));
    }
}

/// <summary>
/// <c>crawl</c>'s progress on standard error. On a terminal a Spectre.Console progress bar (nodes visited of those
/// known, up to --max-nodes) with the running counts and the last node visited under it; redirected, one plain line
/// per node visited ("crawl: 3 visited (3 reachable), 5 discovered, 2 queued | …"), as scripts read it.
/// </summary>
/// <param name="output">Where the progress goes.</param>
/// <param name="seeds">Distinct start nodes (counted as discovered and queued, as the final summary counts them).</param>
/// <param name="maxNodes">The crawl's --max-nodes: the bar never promises more visits than that.</param>
internal sealed class CrawlProgressView(ViewOutput output, int seeds, int maxNodes)
{
    private readonly object _gate = new();
    private readonly List<CrawlNodeReport> _visited = [];
    private int _reachable, _discovered = seeds, _queued = seeds;
    private string _last = "";
    private ProgressTask? _task;

    /// <summary>The nodes visited so far, in order (what an interrupted crawl reports).</summary>
    public IReadOnlyList<CrawlNodeReport> Visited
    {
        get { lock (_gate) return [.. _visited]; }
    }

    /// <summary>Addresses discovered so far, the seeds included.</summary>
    public int Discovered
    {
        get { lock (_gate) return _discovered; }
    }

    /// <summary>Runs <paramref name="body"/> under the progress display (on a terminal; else just runs it).</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> body)
    {
        if (output.IsPlain) return body();
        return output.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new ElapsedTimeColumn())
            .UseRenderHook((bar, _) =>
            {
                string last;
                lock (_gate) last = _last;
                // One line, cut to the width: a wrapped line would make every refresh taller.
                var width = Math.Max(1, output.Width - 1);
                return new Rows(bar, new Text(last.Length > width ? last[..(width - 1)] + "…" : last, new Style(Color.Grey)));
            })
            .StartAsync(async context =>
            {
                lock (_gate) _task = context.AddTask(Description(), maxValue: Math.Max(1, Math.Min(_discovered, maxNodes)));
                try
                {
                    return await body();
                }
                finally
                {
                    lock (_gate)
                    {
                        _task.MaxValue = Math.Max(1, _visited.Count);
                        _task.Value = _task.MaxValue;
                        _task.StopTask();
                    }
                }
            });
    }

    public void Report(CrawlEvent e)
    {
        lock (_gate)
        {
            switch (e)
            {
                case NodeDiscovered d:
                    _discovered++;
                    if (d.Queued) _queued++;
                    break;
                case NodeVisited v:
                    var node = CrawlNodeReport.From(v.Node);
                    _visited.Add(node);
                    if (node.Reachable) _reachable++;
                    _last = $"{node.Id[..12]}… {node.Address ?? "(unresolved)"}: {node.Status}";
                    if (output.IsPlain)
                        output.Write(new Text(string.Create(CultureInfo.InvariantCulture,
                            $"crawl: {_visited.Count} visited ({_reachable} reachable), {_discovered} discovered, {_queued - _visited.Count} queued | {_last}\n")));
                    break;
                default:
                    return;
            }
            if (_task is { } task)
            {
                task.Description = Description();
                task.MaxValue = Math.Max(1, Math.Min(_discovered, maxNodes));
                task.Value = _visited.Count;
            }
        }
    }

    private string Description() => string.Create(CultureInfo.InvariantCulture,
        $"crawl: {_visited.Count} visited, {_reachable} reachable, {_queued - _visited.Count} queued");
}
