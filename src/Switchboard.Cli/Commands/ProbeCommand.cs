using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Cli.Commands;

/// <summary>What <c>probe</c> learned about a node.</summary>
internal sealed record ProbeReport
{
    public bool Ok { get; init; }
    public string Target { get; init; } = "";
    /// <summary>TCP connect + SecretConnection + NodeInfo exchange, or the time until the failure.</summary>
    public double HandshakeMs { get; init; }
    public RemoteNodeInfo? NodeInfo { get; init; }
    public Failure? Error { get; init; }
}

/// <summary>A peer's NodeInfo as <c>probe</c> prints it (channels as hex, like CometBFT's JSON).</summary>
internal sealed record RemoteNodeInfo(string Id, string Moniker, string Network, string Version, string ListenAddr,
    string Channels, [property: JsonPropertyName("p2p_version")] ulong P2PVersion, ulong BlockVersion, ulong AppVersion, string TxIndex, string RpcAddress)
{
    public static RemoteNodeInfo From(NodeInfo info) => new(info.Id.ToString(), info.Moniker, info.Network, info.Version,
        info.ListenAddr, Convert.ToHexStringLower(info.Channels.Span), info.ProtocolVersion.P2P, info.ProtocolVersion.Block,
        info.ProtocolVersion.App, info.TxIndex, info.RpcAddress);
}

/// <summary>Connects to one node, completes the full upgrade (secret connection, dialed-ID check, NodeInfo checks) and hangs up.</summary>
internal static class ProbeRunner
{
    /// <summary>
    /// CometBFT's standard channels (blocksync 0x40, consensus 0x20–0x23, mempool 0x30, evidence 0x38, statesync
    /// 0x60–0x61, PEX 0x00) plus 0x77, the echo channel of switchboard's diagnostic nodes: a peer must share one of
    /// ours for the compatibility check to pass, whatever kind of node it is.
    /// </summary>
    public static readonly byte[] DefaultChannels = [0x40, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61, 0x00, 0x77];

    public static async Task<ProbeReport> RunAsync(DialAddress target, NodeKey key, string chainId, string moniker,
        ReadOnlyMemory<byte> channels, TimeSpan timeout, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var transport = new TcpTransport(key,
            new TransportOptions { DialTimeout = timeout, HandshakeTimeout = timeout, AllowDuplicateIp = true },
            loggerFactory.CreateLogger("Switchboard.Transport"));
        await using (transport)
        {
            transport.LocalNodeInfo = new NodeInfo
            {
                Id = key.Id,
                // Not listening: a parseable address peers will neither dial nor store (it fails NetAddress.IsValid).
                ListenAddr = "0.0.0.0:0",
                Network = chainId,
                Version = new SwitchOptions().Version,
                Channels = channels,
                Moniker = moniker,
                TxIndex = "off",
            };
            try
            {
                transport.LocalNodeInfo.Validate();
            }
            catch (PeerRejectedException ex)
            {
                throw new ConfigException($"our own NodeInfo is invalid: {ex.Message}", ex);
            }
            using var overall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // Dial and handshake each have the timeout; the whole probe (name lookup included) gets twice that at most.
            overall.CancelAfter(2 * timeout);
            try
            {
                var address = await target.ResolveAsync(overall.Token).ConfigureAwait(false);
                await using var connection = await transport.DialAsync(address, overall.Token).ConfigureAwait(false);
                var elapsed = clock.Elapsed.TotalMilliseconds;
                return new ProbeReport { Ok = true, Target = target.ToString(), HandshakeMs = elapsed, NodeInfo = RemoteNodeInfo.From(connection.NodeInfo) };
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                return Failed(new P2PTimeoutException("probe", 2 * timeout, ex));
            }
            catch (Exception ex) when (ex is P2PException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return Failed(ex);
            }
        }

        ProbeReport Failed(Exception ex) =>
            new() { Ok = false, Target = target.ToString(), HandshakeMs = clock.Elapsed.TotalMilliseconds, Error = Failure.From(ex) };
    }

    public static void Print(ProbeReport report, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        if (report.Error is { } error)
        {
            output.WriteLine(string.Create(c, $"probe {report.Target}: FAILED after {report.HandshakeMs:0.0} ms: {error}"));
            // A node that refuses a connection before or during the handshake just closes it (as CometBFT does), so
            // all the dialer sees is a truncated handshake; the refusing node logs the reason.
            if (error is { Kind: "protocol_violation", Reason: nameof(ProtocolViolation.Truncated) } or { Kind: "connection_lost" })
                output.WriteLine("  the node closed the connection during the handshake: it may have refused us (duplicate IP, " +
                    "connection limit, a filter); its log has an \"Inbound connection from … refused\" line with the reason");
            return;
        }
        var n = report.NodeInfo!;
        output.WriteLine(string.Create(c, $"probe {report.Target}: OK, handshake completed in {report.HandshakeMs:0.0} ms"));
        output.WriteLine($"  id           {n.Id}");
        output.WriteLine($"  moniker      {n.Moniker}");
        output.WriteLine($"  network      {n.Network}");
        output.WriteLine($"  version      {n.Version}");
        output.WriteLine(string.Create(c, $"  protocol     p2p {n.P2PVersion}, block {n.BlockVersion}, app {n.AppVersion}"));
        output.WriteLine($"  listen_addr  {n.ListenAddr}");
        output.WriteLine($"  channels     {Addresses.FormatChannels(Convert.FromHexString(n.Channels))}");
        output.WriteLine($"  tx_index     {(n.TxIndex.Length == 0 ? "(empty)" : n.TxIndex)}");
        output.WriteLine($"  rpc_address  {(n.RpcAddress.Length == 0 ? "(none)" : n.RpcAddress)}");
    }
}

/// <summary><c>switchboard probe id@host:port</c>.</summary>
internal static class ProbeCommand
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static Command Create(CliEnvironment environment)
    {
        var target = new Argument<string>("address") { Description = "The node to probe: id@host:port" };
        var identity = new IdentityOptions("switchboard-probe");
        var json = CommandSupport.Json();
        var timeout = CommandSupport.Timeout(DefaultTimeout, "Limit for the TCP connect and for the handshake");
        var channels = new Option<string?>("--channels")
        {
            Description = "Comma-separated channel ids to announce, hex: 0x40,0x20,0x77 or 40,20,77 (default: CometBFT's standard channels and 0x77)",
        };
        var command = new Command("probe", "Connect to a node, complete the handshake, print its NodeInfo (exit 0) or why it refused us (exit 1)");
        command.Arguments.Add(target);
        identity.AddTo(command);
        foreach (var o in new Option[] { json, timeout, channels }) command.Options.Add(o);

        CommandSupport.SetAction(command, environment, async context =>
        {
            var address = ParseTarget(context.Get(target), "address");
            var announced = context.Get(channels) is { } list ? ParseChannels(list) : ProbeRunner.DefaultChannels;
            var (key, chainId, moniker) = identity.Resolve(context);
            using (key)
            {
                var report = await ProbeRunner.RunAsync(address, key, chainId, moniker, announced, context.Get(timeout) ?? DefaultTimeout,
                    context.LoggerFactory, context.CancellationToken);
                if (context.Get(json)) await context.Out.WriteLineAsync(JsonSerializer.Serialize(report, CliJsonContext.Output.ProbeReport));
                else ProbeRunner.Print(report, context.Out);
                return report.Ok ? ExitCodes.Ok : ExitCodes.Failure;
            }
        });
        return command;
    }

    /// <summary>Parses an id@host:port argument; a bad one is a usage error.</summary>
    public static DialAddress ParseTarget(string text, string what)
    {
        try
        {
            return DialAddress.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new ConfigException($"{what}: {ex.Message}", ex);
        }
    }

    private static byte[] ParseChannels(string text)
    {
        var result = new List<byte>();
        foreach (var item in StartCommand.SplitList(text))
        {
            if (!Addresses.TryParseChannel(item, out var channel, out var error))
                throw new ConfigException($"--channels: {error}");
            result.Add(channel);
        }
        return [.. result];
    }
}
