using System.CommandLine;
using System.CommandLine.Help;
using Switchboard.Cli.Commands;

namespace Switchboard.Cli;

/// <summary>The <c>switchboard</c> command tree and its entry point.</summary>
internal static class SwitchboardCli
{
    /// <remarks>
    /// A plain <see cref="Command"/> named "switchboard" rather than a <see cref="RootCommand"/>, whose name would be
    /// the entry assembly's ("Switchboard.Cli") in every usage line, also when installed as the <c>switchboard</c> tool.
    /// </remarks>
    public static Command CreateRootCommand(CliEnvironment environment)
    {
        var root = new Command("switchboard", "switchboard: a CometBFT-compatible p2p node (p2p protocol 8)");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Options.Add(CommandSupport.LogLevelOption);
        root.Options.Add(CommandSupport.LogFormatOption);
        root.Subcommands.Add(InitCommand.Create(environment));
        root.Subcommands.Add(ShowNodeIdCommand.Create(environment));
        root.Subcommands.Add(StartCommand.Create(environment));
        root.Subcommands.Add(ProbeCommand.Create(environment));
        root.Subcommands.Add(SendCommand.Create(environment));
        root.Subcommands.Add(NatCommand.Create(environment));
        root.Subcommands.Add(CrawlCommand.Create(environment));
        root.Subcommands.Add(TestnetCommand.Create(environment));
        root.Subcommands.Add(BenchCommand.Create(environment));
        root.Subcommands.Add(DemoCommand.Create(environment));
        return root;
    }

    /// <summary>
    /// Parses and runs. A command-line error prints the problems and exits with <see cref="ExitCodes.Usage"/> (2).
    /// System.CommandLine's own Ctrl-C handling is off: <c>start</c> handles Ctrl-C and SIGTERM itself so it can
    /// stop its node cleanly; the other commands simply end with the process.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, CliEnvironment? environment = null, TextWriter? output = null,
        TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var root = CreateRootCommand(environment ?? new CliEnvironment());
        var parse = root.Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            ProcessTerminationTimeout = null,
        };
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) await configuration.Error.WriteLineAsync($"error: {e.Message}");
            await configuration.Error.WriteLineAsync("Run 'switchboard --help' (or 'switchboard COMMAND --help') for usage.");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(configuration, cancellationToken);
    }
}
