using System.CommandLine;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard start</c>: runs a node from the home's config (flags override it) until Ctrl-C or SIGTERM, then
/// stops it cleanly (exit 0). A home without key or config is initialised first, with a log line saying so. A listen
/// address that cannot be bound is exit 1. With <c>pex.enabled</c> (the default) the node runs the PEX reactor with
/// its address book in the home (<see cref="NodePex"/>).
/// </summary>
internal static class StartCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = CommandSupport.Home();
        var laddr = new Option<string?>("--laddr") { Description = "Listen address tcp://IP:PORT (config p2p.listen_address; default tcp://0.0.0.0:26656)" };
        var peers = new Option<string?>("--persistent-peers") { Description = "Comma-separated id@host:port peers to keep connected (replaces p2p.persistent_peers)" };
        var chainId = CommandSupport.ChainId("Chain ID (config chain_id)");
        var moniker = new Option<string?>("--moniker") { Description = "Node name (config moniker)" };
        var echo = new Option<string?>("--echo") { Description = "Echo every message received on this channel (e.g. 0x77) back to its sender (config diagnostics.echo_channel)" };
        var nat = new Option<bool>("--nat") { Description = "Map the listen port on the gateway (UPnP/NAT-PMP) and advertise the external endpoint (config p2p.nat)" };
        var natAllowPrivate = new Option<bool>("--nat-allow-private") { Description = "With --nat, accept a gateway whose external address is private or reserved, i.e. a gateway itself behind NAT (config p2p.nat_allow_private_external)" };
        var external = new Option<string?>("--external-address") { Description = "HOST:PORT to advertise instead of the bound address (config p2p.external_address)" };
        var seeds = new Option<string?>("--seeds") { Description = "Comma-separated id@host:port seed nodes asked for addresses (replaces pex.seeds)" };
        var pex = new Option<bool>("--pex") { Description = "Run peer exchange: --pex true|false (config pex.enabled, default true)" };
        var seedMode = new Option<bool>("--seed-mode") { Description = "Run as a seed: crawl the network, answer each peer once, then hang up (config pex.seed_mode)" };
        var command = new Command("start", "Run a node until Ctrl-C or SIGTERM");
        foreach (var o in new Option[] { home, laddr, peers, chainId, moniker, echo, nat, natAllowPrivate, external, seeds, pex, seedMode }) command.Options.Add(o);

        CommandSupport.SetAction(command, environment, async context =>
        {
            var logger = context.LoggerFactory.CreateLogger("Switchboard.Cli.Start");
            var nodeHome = new NodeHome(context.Get(home));
            if (!nodeHome.IsInitialised)
            {
                var init = nodeHome.Init();
                CliLog.HomeInitialised(logger, nodeHome.Root, init.NodeId.ToString());
            }
            var config = nodeHome.LoadConfig();
            var p2p = config.P2P;
            if (context.Get(laddr) is { } l) p2p = p2p with { ListenAddress = l };
            if (context.Get(peers) is { } p) p2p = p2p with { PersistentPeers = SplitList(p) };
            if (context.Get(external) is { } x) p2p = p2p with { ExternalAddress = x };
            if (context.Get(nat)) p2p = p2p with { Nat = true };
            if (context.Get(natAllowPrivate)) p2p = p2p with { NatAllowPrivateExternal = true };
            config = config with { P2P = p2p };
            if (context.Get(chainId) is { } c) config = config with { ChainId = c };
            if (context.Get(moniker) is { } m) config = config with { Moniker = m };
            if (context.Get(echo) is { } e) config = config with { Diagnostics = config.Diagnostics with { EchoChannel = e } };
            var pexConfig = config.Pex;
            if (context.Get(seeds) is { } s) pexConfig = pexConfig with { Seeds = SplitList(s) };
            if (context.IsSet(pex)) pexConfig = pexConfig with { Enabled = context.Get(pex) };
            if (context.IsSet(seedMode)) pexConfig = pexConfig with { SeedMode = context.Get(seedMode) };
            config = config with { Pex = pexConfig };

            var options = new NodeHostOptions
            {
                Home = nodeHome.Root,
                Reactors = config.Pex.Enabled ? [NodePex.Factory()] : [],
            };
            await using var host = new NodeHost(config, nodeHome.LoadKey(), context.LoggerFactory, options);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            using var signals = context.Environment.HandleSignals ? new StopSignals(stop, logger) : null;
            try
            {
                await host.RunAsync(context.Environment.NodeStarted, stop.Token);
            }
            catch (SocketException ex)
            {
                // Only binding can throw this far (peers' socket errors end those peers, not the node).
                await context.Error.WriteLineAsync($"error: cannot listen on {host.Settings.Listen}: {ex.Message}");
                return ExitCodes.Failure;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Splits a comma-separated flag value, ignoring blanks (so a trailing comma is harmless).</summary>
    public static List<string> SplitList(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
