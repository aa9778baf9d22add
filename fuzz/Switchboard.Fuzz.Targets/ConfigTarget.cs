using System.Reflection;
using System.Text;

namespace Switchboard.Fuzz;

/// <summary>
/// The CLI's config.toml: <c>ConfigToml.Parse</c> then <c>NodeSettings.From</c>, as <c>switchboard start</c> loads a
/// node's home. Both are internal to Switchboard.Cli and reached through reflection (once, as delegates), so that the
/// CLI's sources need no change for the fuzzer. A problem must be a <c>ConfigException</c> (exit code 2, naming the
/// setting); what parses must also survive a write and a parse of what was written.
/// </summary>
internal static class ConfigTarget
{
    private static readonly Assembly Cli = Assembly.Load(new AssemblyName("Switchboard.Cli"));
    private static readonly Type ConfigException = Cli.GetType("Switchboard.Cli.ConfigException", throwOnError: true)!;
    private static readonly MethodInfo ParseMethod = Cli.GetType("Switchboard.Cli.Config.ConfigToml", true)!
        .GetMethod("Parse", BindingFlags.Public | BindingFlags.Static)!;
    private static readonly MethodInfo WriteMethod = Cli.GetType("Switchboard.Cli.Config.ConfigToml", true)!
        .GetMethod("Write", BindingFlags.Public | BindingFlags.Static)!;
    private static readonly MethodInfo FromMethod = Cli.GetType("Switchboard.Cli.Config.NodeSettings", true)!
        .GetMethod("From", BindingFlags.Public | BindingFlags.Static)!;

    public static readonly FuzzTarget Target = new(
        "config",
        "the CLI's config.toml: ConfigToml.Parse, NodeSettings.From, and a Write/Parse round trip",
        Body,
        ex => ConfigException.IsInstanceOfType(ex),
        FuzzTargets.Linear(1024 * 1024, 2048));

    private static object? Call(MethodInfo method, params object?[] arguments)
    {
        try
        {
            return method.Invoke(null, arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    private static void Body(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var parsed = Call(ParseMethod, text, "config.toml")!;
        var config = parsed.GetType().GetField("Item1")!.GetValue(parsed)!;
        Call(FromMethod, config);
        var written = (string)Call(WriteMethod, config)!;
        var again = Call(ParseMethod, written, "config.toml (written)")!;
        var config2 = again.GetType().GetField("Item1")!.GetValue(again)!;
        FuzzTargets.Check((string)Call(WriteMethod, config2)! == written, "a config written and parsed again is written differently");
    }
}
