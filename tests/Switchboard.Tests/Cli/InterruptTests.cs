using System.Net;
using System.Net.Sockets;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>
/// Long-running commands asked to stop (Ctrl-C and SIGTERM reach them through the Generic Host's console lifetime as
/// the same stop request the invocation's token makes here) end cleanly and report what they have.
/// </summary>
public class InterruptTests
{
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task AnInterruptedCrawlPrintsWhatItFoundAndSaysSo()
    {
        // A "node" that accepts the connection and never says a word: the crawl waits in the handshake until stopped.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = silent.AcceptTcpClientAsync();
        using var key = NodeKey.Generate();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();

        var run = _cli.RunAsync(["crawl", "--seeds", $"{key.Id}@127.0.0.1:{port}", "--timeout", "60s"], stop.Token);
        using var connection = await Eventually.WithinAsync(accepted, "the crawl dials the seed");
        await stop.CancelAsync();
        var result = await Eventually.WithinAsync(run, "the crawl ends when asked to stop");

        Assert.True(result.ExitCode == 1, result.ToString()); // nothing was reached
        Assert.Contains("0 nodes visited, 0 reachable, 1 discovered; interrupted", result.Output);
        Assert.Matches(@"ID +ADDRESS +MONIKER +VERSION +NETWORK +CHANNELS +STATUS", result.Output);
        Assert.Contains(_cli.Logs, l => l.Contains("Stopping (cancelled by the caller)", StringComparison.Ordinal));
    }
}
