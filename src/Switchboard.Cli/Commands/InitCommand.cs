using System.CommandLine;
using Switchboard.Cli.Config;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard init [--home DIR]</c>: creates the node key and a config with every default; never overwrites.</summary>
internal static class InitCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = CommandSupport.Home();
        var command = new Command("init", "Create a config with every default (config/config.toml, CometBFT's format) and the node key (config/node_key.json); existing files are kept");
        command.Options.Add(home);
        CommandSupport.SetAction(command, environment, context =>
        {
            var nodeHome = new NodeHome(context.Get(home));
            var result = nodeHome.Init();
            context.Out.WriteLine($"config    {nodeHome.ConfigPath} ({(result.ConfigCreated ? "created" : "exists, kept")})");
            context.Out.WriteLine($"node key  {result.KeyPath} ({(result.KeyCreated ? "created" : "exists, kept")})");
            context.Out.WriteLine($"node ID   {result.NodeId}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}

/// <summary><c>switchboard show-node-id [--home DIR]</c>: prints the ID of the home's node key.</summary>
internal static class ShowNodeIdCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = CommandSupport.Home();
        var command = new Command("show-node-id", "Print this node's ID (hex of the first 20 bytes of SHA-256 of its public key)");
        command.Options.Add(home);
        CommandSupport.SetAction(command, environment, context =>
        {
            using var key = new NodeHome(context.Get(home)).LoadKey();
            context.Out.WriteLine(key.Id.ToString());
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
