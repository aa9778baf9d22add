using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Switchboard.Cli.Hosting;

namespace Switchboard.Cli;

/// <summary>What the commands take from their surroundings; tests replace parts of it to run commands in-process.</summary>
internal sealed record CliEnvironment
{
    /// <summary>Creates the logger factory for one command run at the chosen minimum level (disposed by the command).</summary>
    public Func<LogLevel, ILoggerFactory> CreateLoggerFactory { get; init; } = CreateConsoleLogging;

    /// <summary>Called once a node started by <c>start</c> is listening (tests read its bound address here).</summary>
    public Action<NodeHost>? NodeStarted { get; init; }

    /// <summary>
    /// Whether <c>start</c> listens for Ctrl-C and SIGTERM itself. On for the real process; tests stop the node with the
    /// invocation's cancellation token instead.
    /// </summary>
    public bool HandleSignals { get; init; } = true;

    /// <summary>
    /// Whether a writer is an interactive terminal, where <c>testnet</c> redraws a live table with cursor movements.
    /// By default only the real standard output, when it is not redirected and TERM is not "dumb"; anything else
    /// gets plain lines.
    /// </summary>
    public Func<TextWriter, bool> IsTerminal { get; init; } = writer =>
        ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected
        && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal);

    /// <summary>
    /// One line per message on standard error (standard output stays for results, so <c>--json</c> output is clean).
    /// At the default Information level the library's Switch and MConnection lines are raised to Warning: the host
    /// logs every peer added and removed itself, with the reason (a connection's end is otherwise logged twice, once
    /// with a stack trace).
    /// </summary>
    public static ILoggerFactory CreateConsoleLogging(LogLevel level) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.IncludeScopes = false;
        });
        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (level == LogLevel.Information)
        {
            builder.AddFilter("Switchboard.Switch", LogLevel.Warning);
            builder.AddFilter("Switchboard.MConnection", LogLevel.Warning);
        }
    });
}
