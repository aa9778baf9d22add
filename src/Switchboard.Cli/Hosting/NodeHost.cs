using System.Net;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Crypto;
using Switchboard.Nat;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// Extension points of a <see cref="NodeHost"/>, for the commands that build on it (start, testnet). PEX plugs in
/// through <see cref="Reactors"/> (<see cref="NodePex.Factory"/> reads <c>Settings.Seeds</c>, <c>Config.Pex</c> and
/// <c>Home</c>); a testnet opens its gossip channel in <see cref="BeforeStart"/>.
/// </summary>
internal sealed record NodeHostOptions
{
    /// <summary>
    /// Reactors to register, each created once the <see cref="Switch"/> exists and before it starts (so a factory
    /// can read <see cref="NodeHost.Switch"/>, <see cref="NodeHost.Settings"/> and <see cref="NodeHost.LoggerFactory"/>).
    /// The echo reactor of <c>diagnostics.echo_channel</c> is added by the host itself.
    /// </summary>
    public IReadOnlyList<Func<NodeHost, Reactor>> Reactors { get; init; } = [];

    /// <summary>
    /// Called once the reactors are registered, just before the Switch starts: the place to open agent channels
    /// (<see cref="Switch.OpenChannel"/>) on <see cref="NodeHost.Switch"/>.
    /// </summary>
    public Action<NodeHost>? BeforeStart { get; init; }

    /// <summary>Last word on the Switch settings derived from the config (e.g. a testnet removes the dial jitter).</summary>
    public Func<SwitchOptions, SwitchOptions>? ConfigureSwitch { get; init; }

    /// <summary>Creates the transport; default a <see cref="TcpTransport"/> (tests may use a MemoryTransport).</summary>
    public Func<NodeKey, TransportOptions, ILoggerFactory, ITransport>? CreateTransport { get; init; }

    /// <summary>The node's home directory, for files a plug-in keeps there (address book); null for an ephemeral node.</summary>
    public string? Home { get; init; }

    /// <summary>
    /// Serve the status API (<see cref="StatusApi"/>) on the config's <c>rpc.laddr</c> once the Switch listens (an
    /// empty laddr = off). Off by default: only <c>start</c> serves it, a testnet's or a test's nodes do not.
    /// </summary>
    public bool ServeStatusApi { get; init; }

    /// <summary>
    /// Export metrics as the config says (<c>instrumentation.prometheus</c>, <c>switchboard.otlp_endpoint</c>) through a
    /// <see cref="MetricsServer"/> whose meter factory the Switch uses. Off by default, as <see cref="ServeStatusApi"/>.
    /// </summary>
    public bool ServeMetrics { get; init; }

    /// <summary>Port mapping settings used when <c>p2p.nat</c> is on (the host fills in the logger factory).</summary>
    public PortMapperOptions PortMapper { get; init; } = new();
}

/// <summary>
/// One node built from a <see cref="NodeConfig"/>: node key, transport, <see cref="Switch"/>, the configured reactors and
/// (with <c>p2p.nat</c>) a port mapping, plus a log line for every peer added or removed. Shared by every command that
/// runs a node. Not thread-safe: start and stop it from one place.
/// </summary>
internal sealed class NodeHost : IAsyncDisposable
{
    private readonly NodeHostOptions _options;
    private readonly ILogger _logger;
    private Switch? _switch;
    private Task? _peerLog;
    private int _state; // 0 created, 1 started, 2 stopped
    private bool _listening; // the Switch started (a failed bind leaves it false: no "stopped" line for a node that never ran)

    /// <summary>Checks the config (a <see cref="ConfigException"/> names the bad setting). The host owns <paramref name="key"/>.</summary>
    public NodeHost(NodeConfig config, NodeKey key, ILoggerFactory loggerFactory, NodeHostOptions? options = null)
    {
        Settings = NodeSettings.From(config);
        Key = key;
        LoggerFactory = loggerFactory;
        _options = options ?? new NodeHostOptions();
        _logger = loggerFactory.CreateLogger("Switchboard.Cli.Node");
    }

    public NodeSettings Settings { get; }

    public NodeConfig Config => Settings.Config;

    public NodeKey Key { get; }

    public NodeId Id => Key.Id;

    public ILoggerFactory LoggerFactory { get; }

    /// <inheritdoc cref="NodeHostOptions.Home"/>
    public string? Home => _options.Home;

    /// <summary>The Switch; it exists from the start of <see cref="StartAsync"/> (reactor factories see it unstarted).</summary>
    public Switch Switch => _switch ?? throw new InvalidOperationException("the node has not been started");

    /// <summary>The bound address with our ID, once started.</summary>
    public NetAddress? ListenAddress => _switch?.ListenAddress;

    /// <summary>The gateway mapping when <c>p2p.nat</c> is on and it succeeded.</summary>
    public PortMapper? PortMapper { get; private set; }

    /// <summary>The metrics exporter when <see cref="NodeHostOptions.ServeMetrics"/> is on and the config asks for one.</summary>
    public MetricsServer? Metrics { get; private set; }

    /// <summary>The status API when <see cref="NodeHostOptions.ServeStatusApi"/> is on and <c>rpc.laddr</c> is set.</summary>
    public StatusApi? StatusApi { get; private set; }

    /// <summary>The echo reactor when <c>diagnostics.echo_channel</c> is set.</summary>
    public EchoReactor? Echo { get; private set; }

    /// <summary>Maps the port (if asked), builds the transport and Switch, registers the reactors and starts listening.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("already started");
        var switchOptions = Settings.Switch;
        if (Config.P2P.Nat) switchOptions = switchOptions with { ExternalAddress = await MapPortAsync(cancellationToken).ConfigureAwait(false) };
        if (_options.ServeMetrics && (Settings.Metrics is not null || Settings.Otlp is not null))
        {
            try
            {
                Metrics = await MetricsServer.StartAsync(Id.ToString(), Settings.Metrics, Settings.Otlp, Config.Instrumentation.MaxOpenConnections, LoggerFactory,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new ListenException($"cannot serve metrics on {Settings.Metrics}: {ListenFailure(ex, "--metrics-addr or instrumentation.prometheus_listen_addr")}", ex);
            }
            switchOptions = switchOptions with { MeterFactory = Metrics.MeterFactory };
            if (Metrics.ScrapeAddress is { } scrape) CliLog.MetricsServing(_logger, scrape.ToString());
            if (Settings.Otlp is { } otlp) CliLog.MetricsPushing(_logger, otlp.ToString());
        }
        if (_options.ConfigureSwitch is { } configure) switchOptions = configure(switchOptions);

        var transport = _options.CreateTransport?.Invoke(Key, Settings.Transport, LoggerFactory)
            ?? new TcpTransport(Key, Settings.Transport, LoggerFactory.CreateLogger("Switchboard.Transport"));
        _switch = new Switch(transport, Key, switchOptions, LoggerFactory);
        if (Settings.EchoChannel is { } echo)
        {
            Echo = new EchoReactor(echo, _logger);
            _switch.AddReactor(Echo);
            CliLog.EchoEnabled(_logger, Addresses.FormatChannel(echo));
        }
        foreach (var factory in _options.Reactors) _switch.AddReactor(factory(this));
        _options.BeforeStart?.Invoke(this);

        // Subscribed before start so the first peer is not missed; the subscription ends when the Switch stops.
        var events = _switch.WatchPeersAsync(CancellationToken.None);
        _peerLog = LogPeersAsync(events);
        await _switch.StartAsync(Settings.Listen, cancellationToken).ConfigureAwait(false);
        _listening = true;
        if (_options.ServeStatusApi && Settings.Rpc is { } rpc)
        {
            try
            {
                StatusApi = await StatusApi.StartAsync(this, rpc, LoggerFactory, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new ListenException($"cannot serve the status API on {rpc}: {ListenFailure(ex, "--rpc-laddr or rpc.laddr, or \"\" for none")}", ex);
            }
            CliLog.StatusApiServing(_logger, StatusApi.Address.ToString().TrimEnd('/'));
        }
        CliLog.NodeStarted(_logger, Id.ToString(), switchOptions.Moniker, switchOptions.Network,
            ListenAddress?.DialString ?? "(not listening)", _switch.NodeInfo!.ListenAddr);
    }

    private static string ListenFailure(IOException ex, string setting) =>
        ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
        || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            ? $"address already in use (another process, e.g. a CometBFT node, listens there; choose another {setting})"
            : ex.Message;

    /// <summary>Stops the Switch (every peer is removed and logged), then removes the port mapping.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) != 1) return;
        if (StatusApi is { } api) await api.DisposeAsync().ConfigureAwait(false);
        if (_switch is not null) await _switch.StopAsync().ConfigureAwait(false);
        if (_peerLog is not null) await _peerLog.ConfigureAwait(false);
        if (PortMapper is { } mapper) await mapper.DisposeAsync().ConfigureAwait(false);
        if (Metrics is { } metrics) await metrics.DisposeAsync().ConfigureAwait(false);
        if (_listening) CliLog.NodeStopped(_logger, Id.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_switch is not null) await _switch.DisposeAsync().ConfigureAwait(false);
        Key.Dispose();
    }

    private async Task LogPeersAsync(IAsyncEnumerable<PeerEvent> events)
    {
        await foreach (var e in events.ConfigureAwait(false))
        {
            var count = _switch?.Peers.Count ?? 0;
            switch (e)
            {
                case PeerAdded added:
                    using (_logger.BeginScope(CliLogging.PeerScope(added.Peer.Id.ToString(), added.Peer.SocketAddress.DialString)))
                        CliLog.PeerAdded(_logger, added.Peer.Id.ToString(), added.Peer.IsOutbound ? "outbound" : "inbound",
                            added.Peer.NodeInfo.Moniker, added.Peer.SocketAddress.DialString, count);
                    break;
                case PeerRemoved removed:
                    using (_logger.BeginScope(CliLogging.PeerScope(removed.Peer.Id.ToString(), removed.Peer.SocketAddress.DialString)))
                        CliLog.PeerRemoved(_logger, removed.Peer.Id.ToString(), removed.Peer.SocketAddress.DialString,
                            removed.Reason.ToString(), count);
                    break;
            }
        }
    }

    /// <summary>Maps the listen port; returns the address to advertise, or null (the bound one) when mapping is not possible.</summary>
    private async Task<string?> MapPortAsync(CancellationToken cancellationToken)
    {
        if (Settings.Listen.Port == 0)
        {
            CliLog.NatSkipped(_logger, "the listen port is 0 (chosen at bind time); a mapping needs a fixed port");
            return Settings.ExternalAddress;
        }
        try
        {
            PortMapper = await PortMapper.StartAsync(Settings.Listen.Port,
                _options.PortMapper with
                {
                    LoggerFactory = LoggerFactory,
                    AllowNonPublicExternalAddress = _options.PortMapper.AllowNonPublicExternalAddress || Config.P2P.NatAllowPrivateExternal,
                }, cancellationToken).ConfigureAwait(false);
        }
        catch (NatException ex)
        {
            CliLog.NatFailed(_logger, ex.Message);
            return Settings.ExternalAddress;
        }
        PortMapper.MappingChanged += (_, e) => CliLog.NatChanged(_logger, e.Kind.ToString(), e.ExternalEndpoint.ToString(),
            e.Error is null ? "" : $" ({e.Error.Message})");
        var external = PortMapper.ExternalEndpoint;
        CliLog.NatMapped(_logger, Settings.Listen.Port, external.ToString(), PortMapper.Protocol.ToString(), PortMapper.Gateway);
        // An explicit p2p.external_address (e.g. a DNS name) still wins over the gateway's view of us.
        return Settings.ExternalAddress ?? external.ToString();
    }
}

/// <summary>Something the node must listen on (the status API) could not be bound: exit 1 with the reason.</summary>
internal sealed class ListenException(string message, Exception? innerException = null) : Exception(message, innerException);
