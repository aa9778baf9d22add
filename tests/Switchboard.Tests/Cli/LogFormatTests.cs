using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Switchboard.Cli;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>
/// The log lines of a real <c>switchboard start</c> process on standard error (the console formatters cannot be
/// captured in-process), plus the config's <c>log_level</c>/<c>log_format</c> and the stack-trace policy.
/// </summary>
public partial class LogFormatTests
{
    private readonly CliHarness _cli = new();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")]
    private static partial Regex IsoTimestamp();

    [GeneratedRegex(@"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) info: Switchboard\.Cli\.Node\[9000\] Node [0-9a-f]{40} ")]
    private static partial Regex PlainStartedLine();

    /// <summary>A <c>start</c> process whose standard error lines are collected as they come.</summary>
    private sealed class NodeProcess : IDisposable
    {
        private readonly Process _process;

        public NodeProcess(TempHome home, params string[] args)
        {
            var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
            var psi = new ProcessStartInfo(dotnet) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Switchboard.Cli.dll"), "start", "--home", home.Path,
                         "--laddr", "tcp://127.0.0.1:0", "--rpc-laddr", "tcp://127.0.0.1:0", "--pex", "false", "--echo", "0x77" }.Concat(args))
                psi.ArgumentList.Add(a);
            _process = Process.Start(psi)!;
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Lines.Enqueue(e.Data); };
            _process.BeginErrorReadLine();
        }

        public ConcurrentQueue<string> Lines { get; } = new();

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }

    [Fact]
    public async Task JsonLogLinesParseAreDatedAndPeerLinesCarryThePeerId()
    {
        using var home = CliHarness.NewHome();
        using var node = new NodeProcess(home, "--log-format", "json");
        await Eventually.TrueAsync(() => node.Lines.Any(l => l.Contains("\"EventId\":9000", StringComparison.Ordinal)), "the node logged that it started",
            TimeSpan.FromSeconds(60));
        using (var started = JsonDocument.Parse(node.Lines.First(l => l.Contains("\"EventId\":9000", StringComparison.Ordinal))))
        {
            var state = started.RootElement.GetProperty("State");
            var target = $"{state.GetProperty("NodeId").GetString()}@{state.GetProperty("Listen").GetString()}";

            var probe = await _cli.RunAsync("probe", target, "--channels", "77");
            Assert.True(probe.ExitCode == 0, probe.ToString());
        }
        await Eventually.TrueAsync(() => node.Lines.Any(l => l.Contains("\"EventId\":9003", StringComparison.Ordinal)), "the node logged the probe's removal");

        foreach (var line in node.Lines)
        {
            using var doc = JsonDocument.Parse(line); // every line is one JSON object
            Assert.Matches(IsoTimestamp(), doc.RootElement.GetProperty("Timestamp").GetString());
            Assert.DoesNotContain("\\u003E", line);
            Assert.DoesNotContain("`1", line);
        }
        foreach (var eventId in new[] { "9002", "9003" })
        {
            using var doc = JsonDocument.Parse(node.Lines.First(l => l.Contains($"\"EventId\":{eventId}", StringComparison.Ordinal)));
            var peer = doc.RootElement.GetProperty("State").GetProperty("Peer").GetString();
            Assert.Matches("^[0-9a-f]{40}$", peer);
            var scope = Assert.Single(doc.RootElement.GetProperty("Scopes").EnumerateArray());
            Assert.Equal(peer, scope.GetProperty("peer_id").GetString());
            Assert.StartsWith("127.0.0.1:", scope.GetProperty("peer_address").GetString());
            Assert.StartsWith($"peer {peer} at 127.0.0.1:", scope.GetProperty("Message").GetString());
        }
    }

    [Fact]
    public async Task PlainLogLinesStartWithAnIsoDate()
    {
        using var home = CliHarness.NewHome();
        using var node = new NodeProcess(home);

        await Eventually.TrueAsync(() => node.Lines.Any(l => PlainStartedLine().IsMatch(l)), "a dated plain started line", TimeSpan.FromSeconds(60));

        var date = DateTime.Parse(PlainStartedLine().Match(node.Lines.First(l => PlainStartedLine().IsMatch(l))).Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.InRange(date, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task TheConfigsLogLevelAndFormatApplyUnlessAFlagIsGiven()
    {
        using var home = CliHarness.NewHome();
        Assert.Equal(0, (await _cli.RunAsync("init", "--home", home.Path)).ExitCode);
        File.WriteAllText(home.ConfigPath, File.ReadAllText(home.ConfigPath)
            .Replace("log_level = \"info\"", "log_level = \"p2p:debug,*:error\"", StringComparison.Ordinal)
            .Replace("log_format = \"plain\"", "log_format = \"json\"", StringComparison.Ordinal));

        await using (var fromConfig = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0"))
            Assert.Equal(new LogSettings(LogLevel.Error, LogFormat.Json), _cli.LastLogSettings);
        await using (var fromFlags = await _cli.StartNodeAsync(home, "--laddr", "tcp://127.0.0.1:0", "--log-level", "Debug", "--log-format", "plain"))
            Assert.Equal(new LogSettings(LogLevel.Debug, LogFormat.Plain), _cli.LastLogSettings);

        File.WriteAllText(home.ConfigPath, File.ReadAllText(home.ConfigPath).Replace("log_format = \"json\"", "log_format = \"xml\"", StringComparison.Ordinal));
        using var deadline = new CancellationTokenSource(Eventually.DefaultTimeout);
        var bad = await _cli.RunAsync(["start", "--home", home.Path, "--laddr", "tcp://127.0.0.1:0"], deadline.Token);
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Contains("log_format: \"xml\" must be plain or json", bad.Error);
    }

    [Fact]
    public void ExpectedFailuresAreLoggedAsTheirMessageWithoutAStackTrace()
    {
        var captured = new CapturingLogger();
        using var factory = CliLogging.WithoutExpectedStackTraces(LoggerFactory.Create(b => b.AddProvider(new SingleLoggerProvider(captured))));
        var logger = factory.CreateLogger("test");

        logger.LogWarning(new IOException("Connection reset by peer", new System.Net.Sockets.SocketException(104)), "Peer gone");
        logger.LogError(new InvalidOperationException("a bug"), "Unexpected");

        var lines = captured.Lines.ToList();
        Assert.Null(lines[0].Exception);
        Assert.StartsWith("Peer gone: Connection reset by peer", lines[0].Message);
        Assert.IsType<InvalidOperationException>(lines[1].Exception); // a bug keeps its stack trace
        Assert.Equal("Unexpected", lines[1].Message);
    }

    private sealed class SingleLoggerProvider(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose() { }
    }
}
