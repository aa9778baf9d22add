using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Internal;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard;

/// <summary>
/// Owns the peers: accepts and dials through an <see cref="ITransport"/>, enforces limits, keeps persistent
/// peers connected, routes each channel to the reactor (or agent) that registered it, and publishes peer events.
/// </summary>
/// <remarks>
/// Inbound messages never pass through a shared queue: each (peer, channel) has its own byte-bounded queue, and a
/// reactor or agent takes messages from its peers' queues in round-robin order, so one flooding peer delays the others
/// by a bounded amount and a slow reactor delays only its own channels. One heartbeat drives every peer's timeouts.
/// </remarks>
public sealed partial class Switch : IAsyncDisposable
{
    private readonly ITransport _transport;
    private readonly NodeKey _nodeKey;
    private readonly ILogger _logger;
    private readonly List<ReactorHost> _reactors = [];
    private readonly ReactorHost?[] _byChannel = new ReactorHost?[256];
    private readonly List<ChannelDescriptor> _channels = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<PeerEventSubscription> _subscriptions = [];
    private readonly HashSet<NodeId> _unconditional;
    private readonly HashSet<NodeId> _private;
    private readonly Dictionary<NodeId, DialAddress> _persistent = [];
    private readonly BackgroundTasks _background;
    private readonly SharedBufferPool _pool;
    private ConnectionHeartbeat? _heartbeat;
    private Task? _acceptLoop;
    private int _state; // 0 created, 1 started, 2 stopping/stopped
    // SwitchOptions.AllowDuplicateIp or the transport's: either one allows it for the whole node.
    private readonly bool _allowDuplicateIp;

    /// <summary>Creates a switch over <paramref name="transport"/>, identified by <paramref name="nodeKey"/>.</summary>
    public Switch(ITransport transport, NodeKey nodeKey, SwitchOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        options ??= new SwitchOptions();
        options.Validate();
        // One clock for the node: the Switch's flows to the connections and the transport unless they have their own.
        if (!ReferenceEquals(options.TimeProvider, TimeProvider.System) && ReferenceEquals(options.Connection.TimeProvider, TimeProvider.System))
            options = options with { Connection = options.Connection with { TimeProvider = options.TimeProvider } };
        Options = options;
        if (transport is ICoreTransport core)
        {
            core.Core.AdoptSwitchDefaults(options.TimeProvider, options.AllowDuplicateIp);
            _allowDuplicateIp = core.Core.AllowDuplicateIp;
        }
        else
        {
            _allowDuplicateIp = options.AllowDuplicateIp;
        }
        _transport = transport;
        _nodeKey = nodeKey;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = LoggerFactory.CreateLogger("Switchboard.Switch");
        _unconditional = [.. Options.UnconditionalPeerIds];
        _private = [.. Options.PrivatePeerIds];
        foreach (var p in Options.PersistentPeers) _persistent[p.Id] = p;
        _background = new BackgroundTasks(ex => SwitchLog.BackgroundFailed(_logger, ex));
        _pool = new SharedBufferPool(Options.SharedBufferBytes);
        _refusalLog = new LogRateLimiter(10, TimeSpan.FromMinutes(1), Options.TimeProvider);
        Metrics = new SwitchMetrics(Options.MeterFactory, nodeKey.Id.ToString(), () => Peers, _pool);
    }

    /// <summary>The settings.</summary>
    public SwitchOptions Options { get; }

    /// <summary>Logger factory handed to reactors and connections.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Our node ID.</summary>
    public NodeId NodeId => _nodeKey.Id;

    /// <summary>The NodeInfo we send, available after <see cref="StartAsync"/>.</summary>
    public NodeInfo? NodeInfo { get; private set; }

    /// <summary>The address we listen on, with our ID (null when not listening).</summary>
    public NetAddress? ListenAddress => _transport.ListenAddress;

    /// <summary>True between <see cref="StartAsync"/> and <see cref="StopAsync"/>.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == 1;

    /// <summary>Bytes of the node-wide inbound pool (<see cref="SwitchOptions.SharedBufferBytes"/>) in use now.</summary>
    public long SharedBufferBytesInUse => _pool.Used;

    internal SwitchMetrics Metrics { get; }

    /// <summary>Registers a reactor before start. Channel ids must be unique across reactors and agents.</summary>
    /// <exception cref="ArgumentException">a channel id is already taken, or a channel's largest message could never
    /// fit the connection budget (<see cref="MConnectionOptions.MaxBufferedBytes"/>) or the node-wide pool.</exception>
    public void AddReactor(Reactor reactor)
    {
        ArgumentNullException.ThrowIfNull(reactor);
        if (Volatile.Read(ref _state) != 0) throw new InvalidOperationException("reactors must be added before the switch starts");
        var channels = reactor.GetChannels();
        var seen = new HashSet<byte>();
        foreach (var d in channels)
        {
            d.Validate();
            if (_byChannel[d.Id] is { } other)
                throw new ArgumentException($"channel 0x{d.Id:x2} of reactor {reactor.Name} is already registered by {other.Reactor.Name}");
            if (!seen.Add(d.Id)) throw new ArgumentException($"reactor {reactor.Name} lists channel 0x{d.Id:x2} twice");
            if (d.RecvMessageCapacity > Options.Connection.MaxBufferedBytes)
                throw new ArgumentException($"channel 0x{d.Id:x2} of reactor {reactor.Name}: RecvMessageCapacity ({d.RecvMessageCapacity}) is above " +
                    $"the per-peer budget MaxBufferedBytes ({Options.Connection.MaxBufferedBytes})");
            if (d.RecvMessageCapacity > Options.Connection.ReservedBufferBytes + Options.SharedBufferBytes)
                throw new ArgumentException($"channel 0x{d.Id:x2} of reactor {reactor.Name}: RecvMessageCapacity ({d.RecvMessageCapacity}) is above " +
                    $"ReservedBufferBytes + SharedBufferBytes ({Options.Connection.ReservedBufferBytes + Options.SharedBufferBytes})");
        }
        var host = new ReactorHost(reactor, this, _logger, Metrics);
        if (reactor is AgentReactor agent) agent.Inbox = host.Inbound;
        foreach (var d in channels)
        {
            _byChannel[d.Id] = host;
            _channels.Add(d);
        }
        _reactors.Add(host);
        reactor.Switch = this;
    }

    /// <summary>Registers a channel consumed as an async stream instead of by a reactor (before start). The
    /// descriptor's <see cref="ChannelDescriptor.RecvQueueBytes"/> and <see cref="ChannelDescriptor.FullMode"/> say how
    /// much each peer may queue for the agent and what happens beyond.</summary>
    public AgentChannel OpenChannel(ChannelDescriptor descriptor)
    {
        var reactor = new AgentReactor(descriptor);
        AddReactor(reactor);
        return new AgentChannel(reactor);
    }

    /// <summary>The registered reactors, in registration order.</summary>
    public IReadOnlyList<Reactor> Reactors => _reactors.Select(r => r.Reactor).ToList();

    /// <summary>Peer events (added, removed, messages dropped) from now on, in order, until the switch stops.</summary>
    /// <remarks>Peers connected before the call are not replayed: to start from the current state, call this first and
    /// then read <see cref="Peers"/> (a peer that connects in between appears in both).</remarks>
    public IAsyncEnumerable<PeerEvent> WatchPeersAsync(CancellationToken cancellationToken = default)
    {
        var sub = new PeerEventSubscription();
        lock (_subscriptions)
        {
            if (Volatile.Read(ref _state) == 2) sub.Complete();
            else _subscriptions.Add(sub);
        }
        return sub.ReadAllAsync(cancellationToken);
    }

    private void Publish(PeerEvent e)
    {
        lock (_subscriptions)
            foreach (var s in _subscriptions) s.Publish(e);
    }

    /// <summary>
    /// Listens on <paramref name="listen"/> (null: do not listen), builds our NodeInfo, starts the reactors and the
    /// accept loop, then dials the persistent peers in the background.
    /// </summary>
    /// <remarks>If starting fails (the port is in use, a reactor's StartAsync throws), everything started so far is
    /// stopped again and the switch is left stopped (<see cref="IsRunning"/> false) before the error is rethrown.</remarks>
    public async Task StartAsync(IPEndPoint? listen, CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("already started");
        try
        {
            await StartCoreAsync(listen, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await StopAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartCoreAsync(IPEndPoint? listen, CancellationToken cancellationToken)
    {
        _heartbeat = new ConnectionHeartbeat(Options.Connection.TimeProvider, Options.HeartbeatInterval) 
        {
            OnTick = PublishDrops,
            TickFailed = ex => SwitchLog.BackgroundFailed(_logger, ex),
        };
        NetAddress? bound = null;
        // Inbound upgrades that arrive before LocalNodeInfo is set below wait for it (TransportCore).
        if (listen is not null) bound = await _transport.ListenAsync(listen, cancellationToken).ConfigureAwait(false);
        var info = new NodeInfo
        {
            ProtocolVersion = Options.ProtocolVersion,
            Id = NodeId,
            // A node that does not listen still needs a parseable listen_addr; 0.0.0.0:0 is never dialed or stored
            // by peers (it fails NetAddress.IsValid).
            ListenAddr = Options.ExternalAddress ?? (bound is null ? "0.0.0.0:0" : bound.DialString),
            Network = Options.Network,
            Version = Options.Version,
            Channels = _channels.Select(c => c.Id).ToArray(),
            Moniker = Options.Moniker,
            TxIndex = "off",
        };
        info.Validate();
        NodeInfo = info;
        _transport.LocalNodeInfo = info;
        foreach (var r in _reactors)
        {
            await r.Reactor.StartAsync(cancellationToken).ConfigureAwait(false);
            r.Start(_stopping.Token);
        }
        if (listen is not null)
        {
            using (ExecutionContext.SuppressFlow())
                _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        }
        foreach (var p in Options.PersistentPeers)
            StartPersistentDial(p, initialJitter: true);
        SwitchLog.Started(_logger, NodeId.ToString(), bound?.ToString() ?? "(not listening)");
    }

    /// <summary>Stops accepting and dialing, removes every peer, stops the reactors, closes the transport.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2) return;
        _stopping.Cancel();
        await _transport.DisposeAsync().ConfigureAwait(false);
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        await _background.WaitAllAsync().ConfigureAwait(false);
        // Every peer at once: each stop takes the peer lock only to update the set.
        var shutdown = new DisconnectReason(DisconnectKind.Shutdown, false, "switch stopping");
        await Task.WhenAll(Peers.Cast<Peer>().ToList().Select(p => StopPeerAsync(p, shutdown))).ConfigureAwait(false);
        await _background.WaitAllAsync().ConfigureAwait(false);
        foreach (var r in _reactors)
        {
            await r.StopAsync().ConfigureAwait(false);
            await r.Reactor.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        _heartbeat?.Dispose();
        lock (_subscriptions)
        {
            foreach (var s in _subscriptions) s.Complete();
            _subscriptions.Clear();
        }
        SwitchLog.Stopped(_logger, NodeId.ToString());
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == 0) Volatile.Write(ref _state, 1);
        await StopAsync().ConfigureAwait(false);
        Metrics.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TransportConnection conn;
            try
            {
                conn = await _transport.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            // The inbound limit is checked in AddPeerAsync, under the peer lock: checking here would race with
            // adds still in progress and let a burst of connections overshoot the limit.
            RunInBackground(() => AddPeerAsync(conn));
        }
    }

    /// <summary>Heartbeat: one event per (peer, channel) whose drop count grew since the last tick.</summary>
    private void PublishDrops()
    {
        foreach (var p in Peers)
            if (p is Peer peer)
                foreach (var (channel, total, bytes) in peer.TakeNewDrops())
                    Publish(new MessagesDropped(peer, channel, total, bytes));
    }

    /// <summary>Queues <paramref name="message"/> to every peer that has the channel, without waiting; returns how many accepted it.</summary>
    public int TryBroadcast(byte channelId, ReadOnlyMemory<byte> message)
    {
        var n = 0;
        foreach (var p in Peers)
            if (p.TrySend(channelId, message)) n++;
        return n;
    }

    /// <summary>Sends to every peer in parallel (each waiting for queue room up to the send timeout) and reports each result.</summary>
    public async Task<IReadOnlyDictionary<NodeId, bool>> BroadcastAsync(byte channelId, ReadOnlyMemory<byte> message,
        CancellationToken cancellationToken = default)
    {
        var peers = Peers;
        var sends = peers.Select(p => p.SendAsync(channelId, message, cancellationToken).AsTask()).ToArray();
        var results = await Task.WhenAll(sends).ConfigureAwait(false);
        var map = new Dictionary<NodeId, bool>(peers.Count);
        for (var i = 0; i < peers.Count; i++) map[peers[i].Id] = results[i];
        return map;
    }

    /// <summary>Channel descriptors of every reactor, in registration order.</summary>
    internal IReadOnlyList<ChannelDescriptor> Channels => _channels;
}
