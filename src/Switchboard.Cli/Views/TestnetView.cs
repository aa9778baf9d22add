using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Switchboard.Cli.Hosting;

namespace Switchboard.Cli.Views;

/// <summary>
/// <c>testnet</c>'s node table. On a terminal it is a live display: Spectre.Console redraws it by the lines it actually
/// rendered, every line fitted to the terminal width (columns are dropped at narrow widths, the legend says what is
/// shown), and a table taller than the terminal is cut with an ellipsis instead of scrolling copies of itself into the
/// scrollback. Redirected, the table is printed once, as plain lines.
/// </summary>
internal sealed class TestnetView(ViewOutput output)
{
    private static readonly ViewColumn[] Columns =
    [
        new("NODE"),
        new("ID", "node ID, first 12 hex digits"),
        new("LISTEN", "bound address"),
        new("IN", "inbound peers", Right: true),
        new("OUT", "outbound peers", Right: true),
        new("NODES", "peers that are testnet nodes", Right: true),
        new("BOOK", "address book entries", Right: true),
        new("KNOWS", "other nodes known", Right: true),
        new("SENT", "gossip messages sent", Right: true),
        new("RECV", "gossip messages received", Right: true),
        new("BYTES IN", "gossip bytes received", Right: true),
        new("BYTES OUT", "gossip bytes sent", Right: true),
        new("HEARD", "nodes whose gossip arrived", Right: true),
    ];

    private LiveDisplayContext? _live;

    public ViewOutput Output { get; } = output;

    /// <summary>Every node's line, all columns.</summary>
    public static ViewTable Table(TestnetSnapshot s)
    {
        var c = CultureInfo.InvariantCulture;
        return new ViewTable(Columns, [.. s.Nodes.Select(n => (IReadOnlyList<string>)
        [
            n.Name, n.Id[..12], n.Listen, n.PeersIn.ToString(c), n.PeersOut.ToString(c), n.Seed ? "-" : n.NodePeers.ToString(c),
            n.Book.ToString(c), n.Seed ? "-" : n.KnownNodes.ToString(c), n.Seed ? "-" : n.GossipSent.ToString(c),
            n.Seed ? "-" : n.GossipReceived.ToString(c), n.Seed ? "-" : FormatBytes(n.BytesReceived),
            n.Seed ? "-" : FormatBytes(n.BytesSent), n.Seed ? "-" : n.OriginsHeard.ToString(c),
        ])]);
    }

    /// <summary>The table in the widest layout that fits: all columns, then without the address, the ID, the byte counts.</summary>
    public ViewTable Fitted(TestnetSnapshot s)
    {
        var full = Table(s);
        return ViewTable.Fit(Output, full, full.Without("LISTEN"), full.Without("LISTEN", "ID"),
            full.Without("LISTEN", "ID", "BYTES IN", "BYTES OUT"));
    }

    /// <summary>The live drawing: the verdict line first (it stays in view when a tall table is cut), the table, the legend.</summary>
    public IRenderable Render(TestnetSnapshot s)
    {
        var table = Fitted(s);
        var status = string.Create(CultureInfo.InvariantCulture, $"{s.Elapsed.TotalSeconds:0.0}s  {s.Status}");
        return new Rows(new Text(status, s.Formed ? new Style(Color.Green) : Style.Plain), table.ToRenderable(Output), table.Legend(Output));
    }

    /// <summary>
    /// Runs <paramref name="body"/> inside a live display that <see cref="Update"/> redraws; the last drawing stays on
    /// the screen afterwards.
    /// </summary>
    public Task<T> LiveAsync<T>(Func<Task<T>> body) =>
        Output.Console.Live(new Text(""))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .Cropping(VerticalOverflowCropping.Bottom)
            .StartAsync(async context =>
            {
                _live = context;
                try
                {
                    return await body();
                }
                finally
                {
                    _live = null;
                }
            });

    /// <summary>Redraws the live display with <paramref name="s"/> (outside <see cref="LiveAsync"/>: draws it once).</summary>
    public void Update(TestnetSnapshot s)
    {
        if (_live is { } live)
        {
            live.UpdateTarget(Render(s));
            live.Refresh();
        }
        else
        {
            Output.Write(Render(s));
        }
    }

    /// <summary>The table and its legend once, e.g. the final table of a redirected run.</summary>
    public void WriteTable(TestnetSnapshot s)
    {
        var table = Fitted(s);
        Output.Write(new Rows(table.ToRenderable(Output), table.Legend(Output)));
    }

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 10L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB"),
        >= 10L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes >> 10} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
