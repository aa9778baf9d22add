using System.CommandLine;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard start</c>: runs a node from the home's config (flags override it) on the Generic Host
/// (<see cref="CommandHost"/>, a <see cref="NodeHostedService"/>) until Ctrl-C or SIGTERM, then stops it cleanly
/// (exit 0). A home without key or config is initialised first, with a log line saying so. A listen address that
/// cannot be bound is exit 1. With <c>pex.enabled</c> (the default) the node runs the PEX reactor with
/// its address book in the home (<see cref="NodePex"/>).
/// </summary>
internal static class StartCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = CommandSupport.Home();
        var laddr = new Option<string?>("--laddr") { Description = "Listen address tcp://IP:PORT (config p2p.laddr; default tcp://0.0.0.0:26656)" };
        var peers = new Option<string?>("--persistent-peers") { Description = "Comma-separated id@host:port peers to keep connected (replaces p2p.persistent_peers)" };
        var chainId = CommandSupport.ChainId("Chain ID (config switchboard.chain_id, else the genesis file's)");
        var moniker = new Option<string?>("--moniker") { Description = "Node name (config moniker)" };
        var echo = new Option<string?>("--echo") { Description = "Echo every message received on this channel (e.g. 0x77) back to its sender (config switchboard.echo_channel)" };
        var nat = CommandSupport.Flag("--nat", "Map the listen port on the gateway (UPnP/NAT-PMP) and advertise the external endpoint (config switchboard.nat)");
        var natAllowPrivate = CommandSupport.Flag("--nat-allow-private", "With --nat, accept a gateway whose external address is private or reserved, i.e. a gateway itself behind NAT (config switchboard.nat_allow_private_external)");
        var external = new Option<string?>("--external-address") { Description = "HOST:PORT to advertise instead of the bound address (config p2p.external_address)" };
        var seeds = new Option<string?>("--seeds") { Description = "Comma-separated id@host:port seed nodes asked for addresses (replaces p2p.seeds)" };
        var pex = CommandSupport.Flag("--pex", "Run peer exchange: --pex true|false (config p2p.pex, default true)");
        var seedMode = CommandSupport.Flag("--seed-mode", "Run as a seed: crawl the network, answer each peer once, then hang up (config p2p.seed_mode)");
        var duplicateIp = CommandSupport.Flag("--allow-duplicate-ip", "Accept several peers from one IP address: --allow-duplicate-ip true|false (config p2p.allow_duplicate_ip, default false; true for nodes on one host)");
        var strict = CommandSupport.Flag("--addr-book-strict", "Keep only routable addresses in the address book: --addr-book-strict true|false (config p2p.addr_book_strict, default true; false for private or one-host networks)");
        var maxInbound = new Option<int?>("--max-inbound-peers") { Description = "Most inbound peers (config p2p.max_num_inbound_peers, default 40)" };
        var rpcLaddr = new Option<string?>("--rpc-laddr") { Description = "Status API address tcp://IP:PORT, \"\" for none (config rpc.laddr; default tcp://127.0.0.1:26657)" };
        var metricsAddr = new Option<string?>("--metrics-addr") { Description = "Serve Prometheus metrics at http://IP:PORT/metrics (sets instrumentation.prometheus and prometheus_listen_addr)" };
        var otlp = new Option<string?>("--otlp-endpoint") { Description = "Push metrics by OTLP to this URL, e.g. http://127.0.0.1:4317 (config switchboard.otlp_endpoint)" };
        var maxOutbound = new Option<int?>("--max-outbound-peers") { Description = "Outbound peers PEX keeps connected (config p2p.max_num_outbound_peers, default 10)" };
        var command = new Command("start", "Run a node until Ctrl-C or SIGTERM");
        foreach (var o in new Option[] { home, laddr, peers, chainId, moniker, echo, nat, natAllowPrivate, external, seeds, pex, seedMode,
                     duplicateIp, strict, maxInbound, maxOutbound, rpcLaddr, metricsAddr, otlp })
            command.Options.Add(o);

        CommandSupport.SetAction(command, environment, async context =>
        {
            var nodeHome = new NodeHome(context.Get(home));
            nodeHome.CheckNoLegacyConfig();
            InitResult? init = nodeHome.IsInitialised ? null : nodeHome.Init();
            var config = nodeHome.LoadConfig();
            context.UseConfigLogging(config);
            var logger = context.LoggerFactory.CreateLogger("Switchboard.Cli.Start");
            if (init is { } created) CliLog.HomeInitialised(logger, nodeHome.Root, created.NodeId.ToString());
            var p2p = config.P2P;
            if (context.Get(laddr) is { } l) p2p = p2p with { ListenAddress = l };
            if (context.Get(peers) is { } p) p2p = p2p with { PersistentPeers = SplitList(p) };
            if (context.Get(external) is { } x) p2p = p2p with { ExternalAddress = x };
            if (context.Get(nat)) p2p = p2p with { Nat = true };
            if (context.Get(natAllowPrivate)) p2p = p2p with { NatAllowPrivateExternal = true };
            if (context.IsSet(duplicateIp)) p2p = p2p with { AllowDuplicateIp = context.Get(duplicateIp) };
            if (context.Get(maxInbound) is { } inbound) p2p = p2p with { MaxNumInboundPeers = inbound };
            if (context.Get(maxOutbound) is { } outbound) p2p = p2p with { MaxNumOutboundPeers = outbound };
            config = config with { P2P = p2p };
            if (context.Get(chainId) is { } c) config = config with { ChainId = c };
            if (context.Get(moniker) is { } m) config = config with { Moniker = m };
            if (context.IsSet(rpcLaddr)) config = config with { Rpc = new RpcConfig { Laddr = context.Get(rpcLaddr) ?? "" } };
            if (context.Get(metricsAddr) is { } ma)
                config = config with { Instrumentation = config.Instrumentation with { Prometheus = true, PrometheusListenAddr = ma } };
            if (context.Get(otlp) is { } oe) config = config with { Instrumentation = config.Instrumentation with { OtlpEndpoint = oe } };
            if (context.Get(echo) is { } e) config = config with { Diagnostics = config.Diagnostics with { EchoChannel = e } };
            var pexConfig = config.Pex;
            if (context.Get(seeds) is { } s) pexConfig = pexConfig with { Seeds = SplitList(s) };
            if (context.IsSet(pex)) pexConfig = pexConfig with { Enabled = context.Get(pex) };
            if (context.IsSet(seedMode)) pexConfig = pexConfig with { SeedMode = context.Get(seedMode) };
            if (context.IsSet(strict)) pexConfig = pexConfig with { AddrBookStrict = context.Get(strict) };
            config = config with { Pex = pexConfig };

            var options = new NodeHostOptions
            {
                Home = nodeHome.Root,
                Reactors = config.Pex.Enabled ? [NodePex.Factory()] : [],
                ServeStatusApi = true,
                ServeMetrics = true,
            };
            await using var host = new NodeHost(config, nodeHome.LoadKey(config), context.LoggerFactory, options);
            // Without a channel every peer is refused ("no common channel"): a node that can do nothing is a mistake.
            if (host.Settings.EchoChannel is null && !config.Pex.Enabled)
                throw new ConfigException("the node would have no channels and refuse every peer: enable peer exchange " +
                    "(--pex true, p2p.pex) or an echo channel (--echo 0x77, switchboard.echo_channel)");
            var builder = CommandHost.CreateBuilder(context);
            builder.Services.AddSingleton(host);
            builder.Services.AddHostedService(_ => new NodeHostedService(host, context.Environment.NodeStarted));
            try
            {
                await CommandHost.RunAsync(builder.Build(), context, logger);
            }
            catch (SocketException ex)
            {
                // Only binding can throw this far (peers' socket errors end those peers, not the node).
                var why = ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                    ? "address already in use (another process is listening there; choose another --laddr)"
                    : ex.Message;
                await context.Error.WriteLineAsync($"error: cannot listen on {host.Settings.Listen}: {why}");
                return ExitCodes.Failure;
            }
            catch (ListenException ex)
            {
                await context.Error.WriteLineAsync($"error: {ex.Message}");
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
