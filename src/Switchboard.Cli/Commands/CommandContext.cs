using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;

namespace Switchboard.Cli.Commands;

/// <summary>One run of one command: its parse result, output writers, logging and cancellation.</summary>
internal sealed class CommandContext(ParseResult parse, CliEnvironment environment, CancellationToken cancellationToken) : IDisposable
{
    private ILoggerFactory? _loggerFactory;

    public ParseResult Parse { get; } = parse;

    public CliEnvironment Environment { get; } = environment;

    /// <summary>Results (human text or JSON).</summary>
    public TextWriter Out => Parse.InvocationConfiguration.Output;

    /// <summary>Errors about the invocation itself.</summary>
    public TextWriter Error => Parse.InvocationConfiguration.Error;

    /// <summary>The level and format of the run's log lines: the flags, else (for <c>start</c>) the config's.</summary>
    public LogSettings LogSettings { get; private set; } =
        new(parse.GetValue(CommandSupport.LogLevelOption), parse.GetValue(CommandSupport.LogFormatOption));

    /// <summary>Created on first use with <see cref="LogSettings"/>; disposed (flushed) at the end of the run.</summary>
    public ILoggerFactory LoggerFactory => _loggerFactory ??= Environment.CreateLoggerFactory(LogSettings);

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public T Get<T>(Option<T> option) => Parse.GetValue(option)!;

    public T Get<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    /// <summary>True when the option was given on the command line (not just defaulted).</summary>
    public bool IsSet(Option option) => Parse.GetResult(option) is OptionResult { Implicit: false };

    /// <summary>
    /// Applies CometBFT's <c>log_level</c> and <c>log_format</c> from the config where <c>--log-level</c> and
    /// <c>--log-format</c> were not given. Call before the first log line (the logger factory is made once).
    /// </summary>
    public void UseConfigLogging(NodeConfig config)
    {
        if (_loggerFactory is not null) throw new InvalidOperationException("logging is already set up");
        if (!CliLogging.TryParseLevel(config.LogLevel, out var level))
            throw new ConfigException($"log_level: \"{config.LogLevel}\" is not a level (debug, info, error, none, or e.g. \"*:info,p2p:debug\")");
        if (!CliLogging.TryParseFormat(config.LogFormat, out var format))
            throw new ConfigException($"log_format: \"{config.LogFormat}\" must be plain or json");
        if (!IsSet(CommandSupport.LogLevelOption)) LogSettings = LogSettings with { Level = level };
        if (!IsSet(CommandSupport.LogFormatOption)) LogSettings = LogSettings with { Format = format };
    }

    public void Dispose() => _loggerFactory?.Dispose();
}

/// <summary>Options several commands share, and the wiring of a command's action.</summary>
internal static class CommandSupport
{
    /// <summary>--log-level, on the root command and every subcommand.</summary>
    public static readonly Option<LogLevel> LogLevelOption = new("--log-level")
    {
        Description = "Minimum level of the log lines written to standard error (Trace, Debug, Information, Warning, Error, None)",
        DefaultValueFactory = _ => LogLevel.Information,
        Recursive = true,
    };

    /// <summary>--log-format plain|json, on the root command and every subcommand.</summary>
    public static readonly Option<LogFormat> LogFormatOption = new("--log-format")
    {
        Description = "Format of the log lines on standard error: plain (dated text) or json (one object per line); default plain, or the config's log_format for start",
        DefaultValueFactory = _ => LogFormat.Plain,
        HelpName = "plain|json",
        Recursive = true,
    };

    /// <summary>
    /// A boolean option: alone it means true (<c>--seed-mode</c>), or it takes <c>true</c>/<c>false</c>
    /// (<c>--pex false</c>); anything else is an error naming the option, instead of System.CommandLine's
    /// "Unrecognized command or argument".
    /// </summary>
    public static Option<bool> Flag(string name, string description)
    {
        lock (FlagNames) FlagNames.Add(name);
        return new Option<bool>(name)
    {
        Description = description,
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return true;
            var text = result.Tokens[0].Value;
            if (bool.TryParse(text, out var value)) return value;
            result.AddError(text.StartsWith('-')
                ? $"unknown option '{text}'"
                : $"{name}: \"{text}\" is not true or false");
            return false;
        },
    };
    }

    /// <summary>
    /// Names of the <see cref="Flag"/> options: System.CommandLine hands a boolean option only "true" or "false", so
    /// "--pex maybe" reaches the error list as an unrecognized "maybe", which is reported against the flag instead.
    /// </summary>
    public static readonly HashSet<string> FlagNames = [];

    public static Option<string> Home(string? description = null) => new("--home")
    {
        Description = description ?? $"Node home directory (default: ${NodeHome.EnvironmentVariable}, else ~/.switchboard)",
        DefaultValueFactory = _ => NodeHome.DefaultRoot(),
    };

    public static Option<bool> Json() => Flag("--json", "Print one JSON object instead of text");

    public static Option<string?> ChainId(string description) => new("--chain-id") { Description = description };

    /// <summary>The rule NodeInfo applies to <c>network</c> (non-empty printable ASCII), checked before anything is dialed.</summary>
    public static string CheckChainId(string chainId) =>
        chainId.Length > 0 && chainId.All(c => c is >= ' ' and <= '~') && chainId.Any(c => c != ' ')
            ? chainId
            : throw new ConfigException($"--chain-id: \"{chainId}\" must be non-empty printable ASCII");

    // Channel and duration options parse text themselves and leave the default to the caller (null = not given), so
    // help shows "default 0x77" / "default 10s" from the description instead of "119" / "00:00:10".

    /// <summary>A channel id option: <c>0x77</c> or <c>119</c>.</summary>
    public static Option<byte?> Channel(string description) => new("--channel")
    {
        Description = description,
        HelpName = "0xNN",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Addresses.TryParseChannel(text, out var channel, out var error)) return channel;
            result.AddError($"{result.Argument.Name}: {error}");
            return null;
        },
    };

    /// <summary>A positive duration option: <c>500ms</c>, <c>10s</c>, <c>1m</c>.</summary>
    public static Option<TimeSpan?> Timeout(TimeSpan defaultValue, string description) =>
        DurationOption("--timeout", description + $" (e.g. 500ms, 10s; default {Duration.Format(defaultValue)})");

    /// <summary>A positive duration option named <paramref name="name"/>, null when not given.</summary>
    public static Option<TimeSpan?> DurationOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Duration.TryParse(text, out var value, out var error) && value > TimeSpan.Zero) return value;
            result.AddError($"{name}: {error ?? "must be above 0"}");
            return null;
        },
    };

    /// <summary>
    /// Sets <paramref name="command"/>'s action: creates the logger factory for the run, maps
    /// <see cref="ConfigException"/> to "error: …" and exit code 2, and disposes the logging (flushing it) at the end.
    /// </summary>
    public static void SetAction(Command command, CliEnvironment environment, Func<CommandContext, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var context = new CommandContext(parse, environment, cancellationToken);
            try
            {
                return await action(context);
            }
            catch (ConfigException ex)
            {
                await context.Error.WriteLineAsync($"error: {ex.Message}");
                return ExitCodes.Usage;
            }
        });
}
