using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Switchboard.Cli.Bench;

namespace Switchboard.Cli.Views;

/// <summary>
/// <c>bench</c>'s results: one row per measured line of the <see cref="HarnessReport"/> (the two baselines, then every
/// stack line, whatever its name), the notes under it (latency), a column legend. Rows and notes are built from the
/// report generically, so a line the harness adds is drawn without a change here.
/// </summary>
internal static class BenchView
{
    private static readonly ViewColumn[] Columns =
    [
        new("what"),
        new("MB/s", "payload megabytes (10^6 bytes) per second", Right: true),
        new("msgs/s", "messages per second", Right: true),
        new("vs raw TCP", "MB/s over raw loopback TCP's in the same run", Right: true),
        new("vs raw AEAD", "MB/s over raw ChaCha20-Poly1305 seal+open's in the same run (the BCL's, on one core)", Right: true),
        new("MB/CPU-s", "megabytes per second of the process's CPU time: the cost, less disturbed by other load", Right: true),
    ];

    /// <summary>The rows: raw TCP, raw AEAD, then each stack line with its ratios against both.</summary>
    public static ViewTable Table(HarnessReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "raw loopback TCP (64 KiB)", r.RawTcp.MegabytesPerSecond.ToString("0.0", c), "", 1.0.ToString("0.00", c), "",
                r.RawTcp.MegabytesPerCpuSecond.ToString("0.0", c) },
            new[] { "raw AEAD seal+open (1 KiB)", r.RawAead.MegabytesPerSecond.ToString("0.0", c), "", "", 1.0.ToString("0.00", c),
                r.RawAead.MegabytesPerCpuSecond.ToString("0.0", c) },
        };
        foreach (var s in r.Stack)
        {
            rows.Add(new[]
            {
                $"{s.Name}, {ThroughputHarness.FormatSize(s.MessageSize)} messages", s.MegabytesPerSecond.ToString("0.0", c),
                s.MessagesPerSecond.ToString("0", c), (s.MegabytesPerSecond / r.RawTcp.MegabytesPerSecond).ToString("0.00", c),
                (s.MegabytesPerSecond / r.RawAead.MegabytesPerSecond).ToString("0.00", c), s.MegabytesPerCpuSecond.ToString("0.0", c),
            });
        }
        return new ViewTable(Columns, rows);
    }

    /// <summary>The lines under the table.</summary>
    public static IReadOnlyList<string> Notes(HarnessReport r) =>
    [
        string.Create(CultureInfo.InvariantCulture,
            $"round trip, 1 KiB: stack p50 {r.LatencyP50Micros:0} µs, p99 {r.LatencyP99Micros:0} µs; raw TCP p50 {r.RawTcpLatencyP50Micros:0} µs (stack ÷ raw {(r.RawTcpLatencyP50Micros > 0 ? r.LatencyP50Micros / r.RawTcpLatencyP50Micros : 0):0.00})"),
        "record-layer AEAD: " + r.AeadPath,
        .. r.Extra,
    ];

    /// <summary>Draws the table (all columns, or without msgs/s where that does not fit), the notes and the legend.</summary>
    public static void Write(ViewOutput output, ViewTable table, IEnumerable<string> notes)
    {
        var fitted = ViewTable.Fit(output, table, table.Without("msgs/s"), table.Without("msgs/s", "MB/CPU-s"));
        var parts = new List<IRenderable> { fitted.ToRenderable(output) };
        parts.AddRange(notes.Select(n => new Text(n)));
        parts.Add(fitted.Legend(output));
        output.Write(new Rows(parts));
    }

    public static void Write(ViewOutput output, HarnessReport report) => Write(output, Table(report), Notes(report));

    /// <summary>The results as plain text (no escape codes), e.g. for a log or a file.</summary>
    public static string ToPlainText(HarnessReport report)
    {
        using var text = new StringWriter();
        Write(ViewOutput.Plain(text), report);
        return text.ToString().TrimEnd();
    }
}
