using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Spectre.Console.Testing;
using Switchboard.Cli.Bench;
using Switchboard.Cli.Commands;
using Switchboard.Cli.Hosting;
using Switchboard.Cli.Views;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;

namespace Switchboard.Tests.Cli;

/// <summary>
/// The terminal views (Views/): on an 80-column terminal every line fits, on a wide one every column shows, a live
/// testnet table redraws in place (checked on an emulated terminal that wraps lines as a real one does), and
/// redirected output is plain lines without escape codes, one line per row.
/// </summary>
public class ViewTests
{
    private const int Narrow = 80;
    private const int Wide = 200;

    private static TestnetSnapshot Snapshot(int nodes, string status = "forming: node-1 has 1 peer among the nodes (needs 2)", double seconds = 3.2) =>
        new(TimeSpan.FromSeconds(seconds), [.. Enumerable.Range(0, nodes + 1).Select(i => new TestnetNodeStats(
            i == 0 ? "seed" : $"node-{i}", Convert.ToHexStringLower(BitConverter.GetBytes(i * 7919L)).PadRight(40, 'a'),
            string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{41000 + i}"), i == 0, 3, 2, 2, 17, 9, 12345, 67890, 1234567, 20_000_000, 9))],
            false, status);

    private static TestConsole Terminal(int width, int height = 40) => new TestConsole().Width(width).Height(height);

    private static void AssertFits(string output, int width)
    {
        foreach (var line in output.Replace("\r", "", StringComparison.Ordinal).Split('\n'))
            Assert.True(line.TrimEnd().Length <= width, $"a line is wider than {width} columns ({line.TrimEnd().Length}):\n{line}");
    }

    [Fact]
    public void TestnetTableFitsEightyColumnsAndLegendsTheColumnsItShows()
    {
        using var console = Terminal(Narrow);
        new TestnetView(ViewOutput.Terminal(console)).Update(Snapshot(8));

        AssertFits(console.Output, Narrow);
        Assert.Matches(@"│ NODE\s+│ IN │ OUT │ NODES │ BOOK │ KNOWS │\s+SENT │\s+RECV │ HEARD │", console.Output);
        Assert.Contains("node-8", console.Output);
        Assert.DoesNotContain("LISTEN", console.Output); // dropped to fit, and so not in the legend either
        Assert.Contains("IN inbound peers", console.Output);
        Assert.Contains("HEARD nodes whose gossip arrived", console.Output);
        Assert.StartsWith("3.2s  forming: node-1 has 1 peer", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TestnetTableShowsEveryColumnOnAWideTerminal()
    {
        using var console = Terminal(Wide);
        new TestnetView(ViewOutput.Terminal(console)).Update(Snapshot(8));

        AssertFits(console.Output, Wide);
        Assert.Matches(@"│ NODE\s+│ ID\s+│ LISTEN\s+│ IN │ OUT │ NODES │ BOOK │ KNOWS │\s+SENT │\s+RECV │ BYTES IN │ BYTES OUT │ HEARD │", console.Output);
        Assert.Contains("127.0.0.1:41008", console.Output);
        Assert.Contains("19 MiB", console.Output);
        Assert.Contains("LISTEN bound address", console.Output);
    }

    [Theory]
    [InlineData(Narrow, 4)]
    [InlineData(Wide, 4)]
    [InlineData(Narrow, 60)]
    public async Task LiveTestnetTableRedrawsInPlaceOnARealTerminal(int width, int nodes)
    {
        const int height = 24;
        using var console = Terminal(width, height).EmitAnsiSequences();
        console.Profile.Capabilities.Ansi = true;
        var view = new TestnetView(ViewOutput.Terminal(console));
        var during = "";

        await view.LiveAsync(async () =>
        {
            for (var i = 1; i <= 5; i++)
            {
                view.Update(Snapshot(nodes, $"forming: redraw {i}", i));
                await Task.Yield();
            }
            during = console.Output;
            return 0;
        });

        // While it runs: one drawing on the screen, with the last verdict only (no copy of an earlier drawing above
        // it), and a table taller than the terminal is cut, not scrolled, so the drawing never takes more than the screen.
        var running = Screen(width, during);
        Assert.Single(running, l => l.Contains("│ NODE", StringComparison.Ordinal));
        Assert.Single(running, l => l.Contains("forming: redraw", StringComparison.Ordinal));
        Assert.Equal("5.0s  forming: redraw 5", running[0]);
        Assert.True(running.Count <= height, $"{running.Count} lines on a {height}-line terminal:\n{string.Join('\n', running)}");
        if (nodes > height)
        {
            Assert.DoesNotContain(running, l => l.StartsWith($"│ node-{nodes} ", StringComparison.Ordinal));
            Assert.Contains(running, l => l.Contains("...", StringComparison.Ordinal) || l.Contains('…', StringComparison.Ordinal));
        }
        // At the end the last drawing stays, complete (every node, also those cut while it ran), once.
        var final = Screen(width, console.Output);
        Assert.Single(final, l => l.Contains("│ NODE", StringComparison.Ordinal));
        Assert.Single(final, l => l.Contains("forming: redraw", StringComparison.Ordinal));
        Assert.Contains(final, l => l.StartsWith($"│ node-{nodes} ", StringComparison.Ordinal));
        Assert.All(final, l => Assert.True(l.Length <= width, l));
    }

    private static List<string> Screen(int width, string output)
    {
        var screen = new TerminalEmulator(width);
        screen.Feed(output);
        return [.. screen.Lines.Where(l => l.Length > 0)];
    }

    [Fact]
    public void TheEmulatorWrapsLongLinesAsATerminalDoes()
    {
        // The old testnet table moved the cursor up by the lines it wrote, not the rows they took: a line wider than
        // the terminal left its first row behind at every redraw. The emulator must see that, or the test above
        // proves nothing.
        var screen = new TerminalEmulator(Narrow);
        var header = new string('H', 100);
        for (var i = 0; i < 3; i++) screen.Feed((i > 0 ? "\u001b[2A\r\u001b[J" : "") + header + "\nrow\n");
        Assert.Equal(3, screen.Lines.Count(l => l == new string('H', Narrow)));
    }

    [Fact]
    public void RedirectedTestnetTableIsPlainLinesWithEveryColumn()
    {
        var text = new StringWriter();
        new TestnetView(ViewOutput.Plain(text)).WriteTable(Snapshot(60));
        var output = text.ToString();

        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain('│', output);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^NODE +ID +LISTEN +IN +OUT +NODES +BOOK +KNOWS +SENT +RECV +BYTES IN +BYTES OUT +HEARD$", lines[0]);
        Assert.Equal(1 + 61 + 1, lines.Length); // header, seed and 60 nodes, legend: one line each, however wide
        Assert.Matches(@"^node-60  [0-9a-f]{12}  127\.0\.0\.1:41060 +3 +2 +2 +17 +9 +12345 +67890 +19 MiB +1205 KiB +9$", lines[^2]);
        Assert.StartsWith("columns: ID node ID, first 12 hex digits; LISTEN bound address; IN inbound peers;", lines[^1]);
        Assert.All(lines, l => Assert.Equal(l.TrimEnd(), l));
    }

    private static List<CrawlNodeReport> CrawlNodes(int count)
    {
        var nodes = new List<CrawlNodeReport>();
        for (var i = 0; i < count; i++)
        {
            using var key = NodeKey.Generate();
            var node = new CrawledNode(key.Id, new NetAddress(key.Id, IPAddress.Parse("10.0.0." + (i + 1).ToString(CultureInfo.InvariantCulture)), 26656),
                i != 2, "validator-" + i.ToString(CultureInfo.InvariantCulture), "0.38.17", "cosmoshub-4", null, i != 2 ? [0x00, 0x20, 0x30] : [], 7,
                i == 2 ? "connection refused" : null, TimeSpan.FromMilliseconds(12));
            nodes.Add(CrawlNodeReport.From(node));
        }
        return nodes;
    }

    [Fact]
    public void CrawlTableFitsEightyColumnsAndShowsFullIdsOnAWideTerminal()
    {
        var nodes = CrawlNodes(4);
        using var narrow = Terminal(Narrow);
        CrawlView.Write(ViewOutput.Terminal(narrow), nodes, "4 nodes visited, 3 reachable, 9 discovered");
        using var wide = Terminal(Wide);
        CrawlView.Write(ViewOutput.Terminal(wide), nodes, "4 nodes visited, 3 reachable, 9 discovered");

        AssertFits(narrow.Output, Narrow);
        Assert.Contains(nodes[0].Id[..12] + "…", narrow.Output);
        Assert.DoesNotContain(nodes[0].Id, narrow.Output);
        Assert.Contains("unreachable: connection", narrow.Output); // wrapped in its cell, within the width
        Assert.Contains("4 nodes visited, 3 reachable, 9 discovered", narrow.Output);
        Assert.Contains("STATUS outcome of the", narrow.Output);

        AssertFits(wide.Output, Wide);
        Assert.Contains(nodes[0].Id, wide.Output);
        Assert.Matches(@"ID\s+│ ADDRESS\s+│ MONIKER\s+│ VERSION │ NETWORK\s+│ CHANNELS\s+│ STATUS", wide.Output);
        Assert.Contains("0x00 0x20 0x30", wide.Output);
    }

    [Fact]
    public void RedirectedCrawlTableAndProgressArePlainLines()
    {
        var nodes = CrawlNodes(3);
        var table = new StringWriter();
        CrawlView.Write(ViewOutput.Plain(table), nodes, "3 nodes visited, 2 reachable, 5 discovered");
        var progressText = new StringWriter();
        var progress = new CrawlProgressView(ViewOutput.Plain(progressText), seeds: 1, maxNodes: 1000);
        using var key = NodeKey.Generate();
        progress.Report(new NodeDiscovered(new NetAddress(key.Id, IPAddress.Parse("10.0.0.9"), 26656), key.Id, Queued: true));
        progress.Report(new NodeVisited(new CrawledNode(key.Id, null, false, null, null, null, null, [], 0, "no address", TimeSpan.Zero)));

        Assert.DoesNotContain('\u001b', table.ToString() + progressText.ToString());
        var lines = table.ToString().TrimEnd('\n').Split('\n');
        Assert.Matches(@"^ID +ADDRESS +MONIKER +VERSION +NETWORK +CHANNELS +STATUS$", lines[0]);
        Assert.Matches($@"^{nodes[0].Id}  10\.0\.0\.1:26656  validator-0  0\.38\.17  cosmoshub-4  0x00 0x20 0x30  reachable, 7 addresses$", lines[1]);
        Assert.Equal("3 nodes visited, 2 reachable, 5 discovered", lines[^1]);
        Assert.Equal($"crawl: 1 visited (0 reachable), 2 discovered, 1 queued | {key.Id.ToString()[..12]}… (unresolved): unreachable: no address\n",
            progressText.ToString().Replace("\r", "", StringComparison.Ordinal));
        Assert.Single(progress.Visited);
        Assert.Equal(2, progress.Discovered);
    }

    [Fact]
    public async Task CrawlProgressOnATerminalStaysWithinTheWidth()
    {
        using var console = Terminal(Narrow).EmitAnsiSequences().Interactive();
        console.Profile.Capabilities.Ansi = true;
        var progress = new CrawlProgressView(ViewOutput.Terminal(console), seeds: 1, maxNodes: 1000);

        var visited = await progress.RunAsync(async () =>
        {
            using var key = NodeKey.Generate();
            for (var i = 0; i < 3; i++)
            {
                progress.Report(new NodeVisited(new CrawledNode(key.Id, new NetAddress(key.Id, IPAddress.Loopback, 26656), true, "m", "v", "n", null,
                    [0x00], 3, "a very long reason that would wrap an eighty column terminal if it were not cut to the width of the terminal", TimeSpan.Zero)));
                await Task.Yield();
            }
            return progress.Visited.Count;
        });

        Assert.Equal(3, visited);
        var screen = new TerminalEmulator(Narrow);
        screen.Feed(console.Output);
        var lines = screen.Lines.Where(l => l.Length > 0).ToList();
        Assert.Single(lines, l => l.Contains("crawl: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("crawl: 3 visited, 3 reachable", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.True(l.Length <= Narrow, l));
    }

    private static HarnessReport Report() => new(new HarnessResult("raw tcp", 65536, 64L << 20, 0.05, 0.1), new HarnessResult("raw aead", 1024, 64L << 20, 0.2, 0.2),
        [new HarnessResult("stack", 256, 64L << 20, 0.9, 1.7), new HarnessResult("stack", 1 << 20, 64L << 20, 0.3, 0.55),
         new HarnessResult("stack (pooled)", 1024, 64L << 20, 0.4, 0.7)], 85.5, 240.2, 30.1, "test aead")
    {
        Extra = ["many peers: a line another scenario added"],
    };

    [Fact]
    public void BenchTableFitsEightyColumnsAndRendersEveryLineOfTheReport()
    {
        foreach (var width in new[] { Narrow, Wide })
        {
            using var console = Terminal(width);
            BenchView.Write(ViewOutput.Terminal(console), Report());

            AssertFits(console.Output, width);
            Assert.Contains("stack, 256 B messages", console.Output);
            Assert.Contains("stack, 1 MiB messages", console.Output);
            Assert.Contains("stack (pooled), 1 KiB messages", console.Output); // a line the table was not written for
            Assert.Contains("round trip, 1 KiB: stack p50 86 µs, p99 240 µs; raw TCP p50 30 µs", console.Output);
            Assert.Contains("vs raw TCP MB/s over raw", console.Output); // the legend (it wraps at 80 columns)
            Assert.Contains("record-layer AEAD: test aead", console.Output);
            Assert.Contains("many peers: a line another scenario added", console.Output);
        }
    }

    [Fact]
    public void RedirectedBenchTableIsPlainLines()
    {
        var text = BenchView.ToPlainText(Report());

        Assert.DoesNotContain('\u001b', text);
        Assert.Equal(text, ThroughputHarness.Render(Report()));
        var lines = text.Split('\n');
        Assert.Matches(@"^what +MB/s +msgs/s +vs raw TCP +vs raw AEAD +MB/CPU-s$", lines[0]);
        Assert.Matches(@"^raw loopback TCP \(64 KiB\) +1342\.2 +1\.00 +671\.1$", lines[1]);
        Assert.Matches(@"^stack, 256 B messages +74\.6 +291271 +0\.06 +0\.22 +39\.5$", lines[3]);
        Assert.Equal("round trip, 1 KiB: stack p50 86 µs, p99 240 µs; raw TCP p50 30 µs (stack ÷ raw 2.84)", lines[^4]);
        Assert.Equal("record-layer AEAD: test aead", lines[^3]);
        Assert.Equal("many peers: a line another scenario added", lines[^2]);
        Assert.StartsWith("columns: MB/s payload megabytes", lines[^1]);
    }
}
