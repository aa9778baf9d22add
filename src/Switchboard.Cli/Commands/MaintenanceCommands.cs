using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Switchboard.Cli.Config;
using Switchboard.Crypto;

namespace Switchboard.Cli.Commands;

/// <summary>What <c>switchboard version --json</c> prints.</summary>
internal sealed record VersionReport(string Version, [property: System.Text.Json.Serialization.JsonPropertyName("p2p_protocol")] int P2PProtocol, string NodeInfoVersion, ulong BlockProtocol, string Runtime, string Os);

/// <summary><c>switchboard version [--json]</c>: the tool's version and the protocol versions it speaks.</summary>
internal static class VersionCommand
{
    public static VersionReport Current()
    {
        var assembly = typeof(VersionCommand).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        var defaults = new SwitchOptions();
        return new VersionReport(version, (int)defaults.ProtocolVersion.P2P, defaults.Version, defaults.ProtocolVersion.Block,
            RuntimeInformation.FrameworkDescription, RuntimeInformation.RuntimeIdentifier);
    }

    public static Command Create(CliEnvironment environment)
    {
        var json = CommandSupport.Json();
        var command = new Command("version", "Print the version of switchboard and of the protocols it speaks");
        command.Options.Add(json);
        CommandSupport.SetAction(command, environment, async context =>
        {
            var v = Current();
            if (context.Get(json))
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(v, CliJsonContext.Output.VersionReport));
                return ExitCodes.Ok;
            }
            await context.Out.WriteLineAsync($"switchboard {v.Version}");
            await context.Out.WriteLineAsync($"p2p protocol {v.P2PProtocol} (CometBFT v0.34 to v1.x); NodeInfo version {v.NodeInfoVersion}, block protocol {v.BlockProtocol}");
            await context.Out.WriteLineAsync($"{v.Runtime} on {v.Os}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

/// <summary>
/// <c>switchboard gen-node-key [--home DIR]</c>: creates the node key (CometBFT's <c>gen-node-key</c>) where the
/// config's <c>node_key_file</c> says, refusing to replace an existing one (that would change the node's identity).
/// </summary>
internal static class GenNodeKeyCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = CommandSupport.Home();
        var command = new Command("gen-node-key", "Create the node key (config/node_key.json, or the config's node_key_file); an existing key is never replaced");
        command.Options.Add(home);
        CommandSupport.SetAction(command, environment, async context =>
        {
            var nodeHome = new NodeHome(context.Get(home));
            var path = nodeHome.KeyPath;
            if (File.Exists(path))
                throw new ConfigException($"{path}: a node key already exists (its node ID is the node's identity; move it away first to replace it)");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var key = NodeKey.LoadOrGenerate(path);
            await context.Out.WriteLineAsync($"node key  {path} (created)");
            await context.Out.WriteLineAsync($"node ID   {key.Id}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

/// <summary>
/// <c>switchboard reset-addrbook [--home DIR]</c>: deletes the address book (<c>p2p.addr_book_file</c>), the one
/// piece of state a node keeps besides its key: CometBFT's <c>unsafe-reset-all</c> for what Switchboard owns.
/// </summary>
internal static class ResetAddrBookCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = CommandSupport.Home();
        var command = new Command("reset-addrbook",
            "Delete the address book (the config's p2p.addr_book_file); the node key and config are kept. Stop the node first: a running node writes its book back");
        command.Options.Add(home);
        CommandSupport.SetAction(command, environment, async context =>
        {
            var nodeHome = new NodeHome(context.Get(home));
            var config = File.Exists(nodeHome.ConfigPath) ? nodeHome.LoadConfig() : new NodeConfig();
            var path = Path.GetFullPath(Path.Combine(nodeHome.Root, config.Pex.AddrBookFile));
            if (!File.Exists(path))
            {
                await context.Out.WriteLineAsync($"no address book at {path}; nothing to do");
                return ExitCodes.Ok;
            }
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"{path}: {ex.Message}", ex);
            }
            await context.Out.WriteLineAsync($"removed {path}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
