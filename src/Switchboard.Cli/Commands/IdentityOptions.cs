using System.CommandLine;
using Switchboard.Cli.Config;
using Switchboard.Crypto;

namespace Switchboard.Cli.Commands;

/// <summary>
/// Who a client command (probe, send) is: a fresh throw-away key, or with <c>--home</c> that home's key, chain ID and
/// moniker. <c>--chain-id</c> overrides both.
/// </summary>
internal sealed class IdentityOptions(string defaultMoniker)
{
    public Option<string?> Home { get; } = new("--home") { Description = "Use this node home's key, chain ID and moniker instead of a fresh key" };

    public Option<string?> ChainId { get; } = CommandSupport.ChainId("Chain ID to announce; must match the remote's (default: the home's, else \"switchboard\")");

    public void AddTo(Command command)
    {
        command.Options.Add(Home);
        command.Options.Add(ChainId);
    }

    public (NodeKey Key, string ChainId, string Moniker) Resolve(CommandContext context)
    {
        var chainId = context.Get(ChainId);
        if (context.Get(Home) is not { } homeDir) return (NodeKey.Generate(), chainId ?? new SwitchOptions().Network, defaultMoniker);
        var home = new NodeHome(homeDir);
        var config = File.Exists(home.ConfigPath) ? home.LoadConfig() : new NodeConfig();
        return (home.LoadKey(config), chainId ?? config.ChainId, config.Moniker);
    }
}
