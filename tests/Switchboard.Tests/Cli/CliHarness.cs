using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Switchboard.Cli;
using Switchboard.Cli.Hosting;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Cli;

/// <summary>The outcome of one in-process run of the <c>switchboard</c> command.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>Runs the command tree in-process with captured output and captured log lines.</summary>
public sealed class CliHarness
{
    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>The level and format the last command run asked its logging for.</summary>
    internal LogSettings? LastLogSettings { get; private set; }

    internal CliEnvironment Environment(Action<NodeHost>? nodeStarted = null) => new()
    {
        CreateLoggerFactory = settings =>
        {
            LastLogSettings = settings;
            return LoggerFactory.Create(b => b.SetMinimumLevel(settings.Level).AddProvider(new QueueLoggerProvider(Logs)));
        },
        NodeStarted = nodeStarted,
        HandleSignals = false,
    };

    public async Task<CliResult> RunAsync(params string[] args) => await RunAsync(args, CancellationToken.None);

    internal async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken, Action<NodeHost>? nodeStarted = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SwitchboardCli.InvokeAsync(args, Environment(nodeStarted), output, error, cancellationToken);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>A fresh directory under the temp folder, deleted by the returned handle.</summary>
    public static TempHome NewHome() => new();

    /// <summary>
    /// Runs <c>start</c> in the background with <paramref name="args"/> (plus <c>--home</c>) until the returned handle
    /// is disposed; completes once the node listens.
    /// </summary>
    public async Task<RunningNode> StartNodeAsync(TempHome home, params string[] args)
    {
        var started = new TaskCompletionSource<NodeHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = new CancellationTokenSource();
        // The status API binds a free loopback port unless the test chooses (never the default 26657).
        string[] rpc = args.Contains("--rpc-laddr") ? [] : ["--rpc-laddr", "tcp://127.0.0.1:0"];
        var run = Task.Run(() => RunAsync(["start", "--home", home.Path, .. rpc, .. args], stop.Token, host => started.TrySetResult(host)));
        var first = await Task.WhenAny(started.Task, run);
        if (first == run) throw new InvalidOperationException($"start ended before listening: {await run}");
        var node = await started.Task;
        return new RunningNode(node, run, stop);
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(categoryName, lines);

        public void Dispose() { }
    }

    private sealed class QueueLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
    }
}

/// <summary>A node run by <c>switchboard start</c> inside the test process.</summary>
public sealed class RunningNode : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task<CliResult> _run;

    internal RunningNode(NodeHost host, Task<CliResult> run, CancellationTokenSource stop)
    {
        Host = host;
        _run = run;
        _stop = stop;
    }

    internal NodeHost Host { get; }

    /// <summary><c>id@127.0.0.1:port</c> of the running node.</summary>
    public string Address => Host.ListenAddress!.ToString();

    public string Id => Host.Id.ToString();

    /// <summary>Stops the node the way Ctrl-C does (cancels the command) and returns the command's result.</summary>
    public async Task<CliResult> StopAsync()
    {
        await _stop.CancelAsync();
        return await Eventually.WithinAsync(_run, "start returns after cancellation");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_run.IsCompleted) await StopAsync();
        _stop.Dispose();
    }
}

/// <summary>A temporary node home directory.</summary>
public sealed class TempHome : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("switchboard-cli-").FullName;

    public string KeyPath => System.IO.Path.Combine(Path, "config", "node_key.json");

    public string ConfigPath => System.IO.Path.Combine(Path, "config", "config.toml");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp folder is cleaned by the OS eventually.
        }
    }
}
