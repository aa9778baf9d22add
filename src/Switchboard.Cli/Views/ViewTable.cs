using Spectre.Console;
using Spectre.Console.Rendering;

namespace Switchboard.Cli.Views;

/// <summary>A column of a <see cref="ViewTable"/>.</summary>
/// <param name="Header">The heading, short (the legend explains it).</param>
/// <param name="Legend">What the column holds, for the legend under the table; null when the heading says it all.</param>
/// <param name="Right">Right-aligned (numbers).</param>
internal sealed record ViewColumn(string Header, string? Legend = null, bool Right = false);

/// <summary>
/// A table of text cells, independent of how it is drawn: on a terminal as a bordered Spectre.Console table fitted to
/// the width (<see cref="Fit"/> picks the first layout that fits), redirected as plain columns separated by two
/// spaces with one line per row, as <c>awk</c> and <c>grep</c> expect.
/// </summary>
internal sealed record ViewTable(IReadOnlyList<ViewColumn> Columns, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>The same table without the columns headed <paramref name="headers"/>.</summary>
    public ViewTable Without(params string[] headers)
    {
        var keep = Enumerable.Range(0, Columns.Count).Where(i => !headers.Contains(Columns[i].Header)).ToArray();
        return new ViewTable([.. keep.Select(i => Columns[i])], [.. Rows.Select(r => (IReadOnlyList<string>)[.. keep.Select(i => r[i])])]);
    }

    /// <summary>The same table with the cells of column <paramref name="header"/> cut to <paramref name="length"/> characters and an ellipsis.</summary>
    public ViewTable Shorten(string header, int length)
    {
        var at = Columns.Select(c => c.Header).ToList().IndexOf(header);
        if (at < 0) return this;
        return this with
        {
            Rows = [.. Rows.Select(r => (IReadOnlyList<string>)[.. r.Select((cell, i) => i == at && cell.Length > length ? cell[..length] + "…" : cell)])],
        };
    }

    /// <summary>
    /// The first of <paramref name="layouts"/> (most complete first) whose table fits <paramref name="output"/>'s width;
    /// the last when none does (Spectre.Console then wraps its cells, still within the width). Plain output takes the
    /// first: it has no width limit.
    /// </summary>
    public static ViewTable Fit(ViewOutput output, params ViewTable[] layouts)
    {
        if (output.IsPlain) return layouts[0];
        foreach (var layout in layouts)
            if (output.Fits(layout.ToRenderable(output))) return layout;
        return layouts[^1];
    }

    /// <summary>The Spectre.Console table for <paramref name="output"/>: bordered on a terminal, bare columns in plain text.</summary>
    public IRenderable ToRenderable(ViewOutput output)
    {
        var table = new Table();
        if (output.IsPlain)
        {
            // No border; two blanks after every column, as the CLI's text tables have always been.
            table.Border = TableBorder.None;
            foreach (var c in Columns)
                table.AddColumn(new TableColumn(new Text(c.Header)) { Padding = new Padding(0, 0, 2, 0), Alignment = c.Right ? Justify.Right : Justify.Left, NoWrap = true });
        }
        else
        {
            table.Border = TableBorder.Rounded;
            table.BorderStyle = new Style(Color.Grey);
            foreach (var c in Columns)
                table.AddColumn(new TableColumn(new Text(c.Header, new Style(decoration: Decoration.Bold))) { Alignment = c.Right ? Justify.Right : Justify.Left });
        }
        foreach (var row in Rows) table.AddRow([.. row.Select(cell => (IRenderable)new Text(cell))]);
        return table;
    }

    /// <summary>
    /// The legend of the columns that have one: "IN inbound peers · OUT outbound peers · …" (plain: "columns: IN inbound peers; …"); on a terminal dimmed and
    /// wrapped at word boundaries to the width.
    /// </summary>
    public IRenderable Legend(ViewOutput output)
    {
        var entries = Columns.Where(c => c.Legend is not null).Select(c => $"{c.Header} {c.Legend}");
        return output.IsPlain
            ? new Text("columns: " + string.Join("; ", entries))
            : new Paragraph(string.Join(" · ", entries), new Style(Color.Grey));
    }
}
