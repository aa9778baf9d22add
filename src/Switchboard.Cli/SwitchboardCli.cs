using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using Switchboard.Cli.Commands;

namespace Switchboard.Cli;

/// <summary>The <c>switchboard</c> command tree and its entry point.</summary>
internal static partial class SwitchboardCli
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
        root.Subcommands.Add(TestnetNodeCommand.Create(environment));
        root.Subcommands.Add(BenchCommand.Create(environment));
        root.Subcommands.Add(DemoCommand.Create(environment));
        root.Subcommands.Add(NetInfoCommand.Create(environment));
        root.Subcommands.Add(VersionCommand.Create(environment));
        root.Subcommands.Add(GenNodeKeyCommand.Create(environment));
        root.Subcommands.Add(ResetAddrBookCommand.Create(environment));
        return root;
    }

    /// <summary>
    /// Parses and runs. A command-line error prints the problems and exits with <see cref="ExitCodes.Usage"/> (2).
    /// System.CommandLine's own Ctrl-C handling is off: <c>start</c>, <c>testnet</c> and <c>crawl</c> run on the Generic
    /// Host, whose console lifetime turns Ctrl-C and SIGTERM into a clean stop; the other commands simply end with the process.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, CliEnvironment? environment = null, TextWriter? output = null,
        TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var root = CreateRootCommand(environment ?? new CliEnvironment());
        // No response files: "@host:port" (a dial address with an empty node ID) must reach the command that
        // reports it, not be read as a file name.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            ProcessTerminationTimeout = null,
        };
        if (parse.Errors.Count > 0)
        {
            foreach (var message in ErrorMessages(root, parse)) await configuration.Error.WriteLineAsync($"error: {message}");
            await configuration.Error.WriteLineAsync("Run 'switchboard --help' (or 'switchboard COMMAND --help') for usage.");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>
    /// System.CommandLine's parse errors in the command's own words: an unknown command is named once (not after
    /// "Required command was not provided."), and a value that does not convert names the option and what it takes,
    /// not a .NET type ("System.Int32").
    /// </summary>
    private static IEnumerable<string> ErrorMessages(Command root, ParseResult parse)
    {
        var commands = string.Join(", ", root.Subcommands.Select(c => c.Name));
        if (parse.CommandResult.Command == root)
        {
            var first = parse.Tokens.FirstOrDefault();
            if (first is null)
            {
                yield return $"no command given; commands: {commands}";
                yield break;
            }
            if (first.Type != TokenType.Option)
            {
                yield return $"unknown command '{first.Value}'; commands: {commands}";
                yield break;
            }
        }
        foreach (var e in parse.Errors)
        {
            var conversion = CannotParse().Match(e.Message);
            if (conversion.Success)
            {
                yield return $"{conversion.Groups["option"].Value}: \"{conversion.Groups["value"].Value}\" is not {Describe(conversion.Groups["type"].Value)}";
                continue;
            }
            if (parse.CommandResult.Command == root && e.Message == "Required command was not provided.") continue;
            var unrecognized = Unrecognized().Match(e.Message);
            if (unrecognized.Success && !unrecognized.Groups["value"].Value.StartsWith('-') && FlagBefore(parse, unrecognized.Groups["value"].Value) is { } flag)
            {
                yield return $"{flag}: \"{unrecognized.Groups["value"].Value}\" is not true or false";
                continue;
            }
            yield return e.Message;
        }
    }

    [GeneratedRegex(@"^Unrecognized command or argument '(?<value>.*)'\.$")]
    private static partial Regex Unrecognized();

    /// <summary>The boolean flag right before the token <paramref name="value"/>, if it follows one.</summary>
    private static string? FlagBefore(ParseResult parse, string value)
    {
        for (var i = 1; i < parse.Tokens.Count; i++)
        {
            if (parse.Tokens[i].Value != value) continue;
            var previous = parse.Tokens[i - 1];
            bool known;
            lock (CommandSupport.FlagNames) known = CommandSupport.FlagNames.Contains(previous.Value);
            if (previous.Type == TokenType.Option && known) return previous.Value;
        }
        return null;
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (option|argument) '(?<option>[^']*)' as expected type '(?<type>[^']*)'\.")]
    private static partial Regex CannotParse();

    private static string Describe(string type)
    {
        var inner = type.StartsWith("System.Nullable`1[", StringComparison.Ordinal) ? type[18..^1] : type;
        return inner switch
        {
            "System.Int32" or "System.Int64" or "System.UInt16" or "System.UInt32" or "System.UInt64" or "System.Byte" => "a whole number",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "true or false",
            "Microsoft.Extensions.Logging.LogLevel" => "a log level (Trace, Debug, Information, Warning, Error, None)",
            "Switchboard.Cli.LogFormat" => "plain or json",
            _ => "a valid value",
        };
    }
}
