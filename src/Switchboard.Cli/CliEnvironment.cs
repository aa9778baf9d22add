using Microsoft.Extensions.Logging;
using Switchboard.Cli.Hosting;

namespace Switchboard.Cli;

/// <summary>What the commands take from their surroundings; tests replace parts of it to run commands in-process.</summary>
internal sealed record CliEnvironment
{
    /// <summary>Creates the logger factory for one command run at the chosen level and format (disposed by the command).</summary>
    public Func<LogSettings, ILoggerFactory> CreateLoggerFactory { get; init; } = CliLogging.CreateConsole;

    /// <summary>Called once a node started by <c>start</c> is listening (tests read its bound address here).</summary>
    public Action<NodeHost>? NodeStarted { get; init; }

    /// <summary>
    /// Whether the long-running commands (start, testnet, crawl) stop on Ctrl-C and SIGTERM, through the Generic Host's
    /// console lifetime (<see cref="CommandHost"/>). On for the real process; tests stop them with the invocation's
    /// cancellation token instead.
    /// </summary>
    public bool HandleSignals { get; init; } = true;

    /// <summary>
    /// Whether a writer is an interactive terminal, where the views (<c>Views/</c>) draw with Spectre.Console: a live
    /// testnet table, crawl's progress bar, bordered tables fitted to the width. By default only the real standard
    /// output or standard error, when it is not redirected and TERM is not "dumb"; anything else gets plain lines.
    /// </summary>
    public Func<TextWriter, bool> IsTerminal { get; init; } = writer =>
        (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected || ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected)
        && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal);
}
