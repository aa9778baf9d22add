using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Pex;

/// <summary>Counters of a <see cref="PexReactor"/> and the size of its book, for dashboards and tests.</summary>
/// <param name="BookSize">Entries in the address book.</param>
/// <param name="BookNew">Entries in the new table.</param>
/// <param name="BookOld">Entries in the old table.</param>
/// <param name="Banned">Banned IDs.</param>
/// <param name="OutboundPeers">Outbound peers of the switch (counted toward the outbound target).</param>
/// <param name="InboundPeers">Inbound peers of the switch.</param>
/// <param name="Dialing">Dials in progress.</param>
/// <param name="RequestsSent">PexRequests we sent.</param>
/// <param name="RequestsReceived">PexRequests we received.</param>
/// <param name="AddrsReceived">PexAddrs messages accepted.</param>
/// <param name="AddressesAdded">Addresses that created a new book entry.</param>
/// <param name="DialsStarted">Dials started by PEX (ensure-peers, seeds, crawl).</param>
/// <param name="DialsSucceeded">Those that connected.</param>
/// <param name="DialsFailed">Those that failed.</param>
/// <param name="PeersPunished">Peers disconnected and banned for PEX abuse.</param>
/// <param name="SeedAnswers">Seed mode: inbound peers answered and disconnected.</param>
/// <param name="EnsureRounds">Ensure-peers (or, in seed mode, crawl) rounds completed.</param>
public sealed record PexStats(int BookSize, int BookNew, int BookOld, int Banned, int OutboundPeers, int InboundPeers,
    int Dialing, long RequestsSent, long RequestsReceived, long AddrsReceived, long AddressesAdded, long DialsStarted,
    long DialsSucceeded, long DialsFailed, long PeersPunished, long SeedAnswers, long EnsureRounds);

/// <summary>
/// Peer exchange on channel 0x00 (PROTOCOL.md 6): keeps the node at its outbound target by dialing addresses from
/// the <see cref="AddrBook"/>, fills the book by asking peers, answers their requests, and punishes abuse
/// (requests too often, unsolicited or invalid addresses: disconnect and a 24 h ban). In seed mode it crawls
/// instead and serves each inbound peer one answer. The reactor starts and stops the book with the switch.
/// </summary>
public sealed partial class PexReactor : Reactor
{
    /// <summary>0x00: CometBFT's PexChannel.</summary>
    public const byte ChannelId = 0x00;

    /// <summary>64,000 bytes: a PEX message's cap (maxAddressSize 256 × maxGetSelection 250); larger disconnects.</summary>
    public const int MaxMessageSize = 64_000;

    private const string PeerStateKey = "switchboard.pex";
    // Bound on the dial-attempt table (an entry per dial string PEX tried); the stalest go first when full.
    private const int MaxTrackedDialAttempts = 10_000;

    private ILogger _logger;
    private readonly bool _ownLogger;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly Random _random;
    private readonly Dictionary<NodeId, DateTimeOffset> _lastRequestSent = [];
    private readonly Dictionary<string, (int Attempts, DateTimeOffset Last)> _dialAttempts = [];
    private readonly Dictionary<NodeId, string> _dialingGroups = [];
    private readonly Internal.BackgroundTasks _tasks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });
    private int _tickPending;
    private int _seedDialRunning;
    private ITimer? _timer;
    private Task? _loop;
    private long _requestsSent, _requestsReceived, _addrsReceived, _addressesAdded, _dialsStarted, _dialsSucceeded,
        _dialsFailed, _punished, _seedAnswers, _rounds;

    /// <summary>Creates the reactor over <paramref name="book"/> (which it starts and stops with the switch).</summary>
    public PexReactor(AddrBook book, PexReactorOptions? options = null, ILogger? logger = null) : base("pex")
    {
        ArgumentNullException.ThrowIfNull(book);
        Book = book;
        Options = options ?? new PexReactorOptions();
        Options.Validate();
        _time = Options.TimeProvider;
        _random = Options.Random;
        _logger = logger ?? NullLogger.Instance;
        _ownLogger = logger is null;
        _tasks = new Internal.BackgroundTasks(ex => PexLog.BackgroundFailed(_logger, ex));
    }

    /// <summary>The address book.</summary>
    public AddrBook Book { get; }

    /// <summary>The settings.</summary>
    public PexReactorOptions Options { get; }

    /// <summary>Dials PEX has in progress (its own; the switch's <see cref="Switch.NumDialing"/> counts all).</summary>
    public int PendingDials { get { lock (_lock) return _dialingGroups.Count; } }

    /// <summary>Book size, peer counts and counters, for a live table.</summary>
    public PexStats GetStats()
    {
        var sw = Switch;
        return new PexStats(Book.Size, Book.NumNew, Book.NumOld, Book.NumBanned,
            sw?.NumOutboundPeers ?? 0, sw?.NumInboundPeers ?? 0, sw?.NumDialing ?? 0,
            Interlocked.Read(ref _requestsSent), Interlocked.Read(ref _requestsReceived), Interlocked.Read(ref _addrsReceived),
            Interlocked.Read(ref _addressesAdded), Interlocked.Read(ref _dialsStarted), Interlocked.Read(ref _dialsSucceeded),
            Interlocked.Read(ref _dialsFailed), Interlocked.Read(ref _punished), Interlocked.Read(ref _seedAnswers),
            Interlocked.Read(ref _rounds));
    }

    /// <inheritdoc/>
    public override IReadOnlyList<ChannelDescriptor> GetChannels() =>
    [
        // CometBFT's PEX channel: priority 1, send queue 10, receive cap 64,000 bytes. Request/response: a peer with more
        // than four answers' worth waiting for us is flooding (the rate limit would ban it anyway), so it is
        // disconnected rather than allowed to pause its connection or have messages silently dropped.
        new ChannelDescriptor(ChannelId, 1)
        {
            SendQueueCapacity = 10,
            RecvMessageCapacity = MaxMessageSize,
            RecvQueueBytes = 4 * MaxMessageSize,
            FullMode = ChannelFullMode.DisconnectPeer,
        },
    ];

    private Switch RequireSwitch => Switch ?? throw new InvalidOperationException("the PEX reactor is not added to a switch");

    /// <inheritdoc/>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var sw = RequireSwitch;
        if (_ownLogger) _logger = sw.LoggerFactory.CreateLogger("Switchboard.Pex");
        Book.Start();
        Book.AddPrivateIds(sw.Options.PrivatePeerIds);
        var ours = sw.ListenAddress ?? new NetAddress(sw.NodeId, IPAddress.Any, 0);
        Book.AddOurAddress(ours);
        if (sw.Options.ExternalAddress is { } external
            && NetAddress.TryParse(sw.NodeId.Value + "@" + NetAddressText.StripScheme(external), out var externalAddress))
            Book.AddOurAddress(externalAddress);
        sw.PeerMarkedGood += OnPeerMarkedGood;
        AddPersistentPeersToBook(sw, ours);
        if (Book.Empty && Options.Seeds.Count == 0 && !Options.SeedMode) PexLog.NoSeeds(_logger);
        var token = _stopping.Token;
        StartTimer(sw);
        _loop = Options.SeedMode
            ? Task.Run(() => CrawlLoopAsync(token), CancellationToken.None)
            : Task.Run(() => EnsurePeersLoopAsync(token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Switch is { } sw) sw.PeerMarkedGood -= OnPeerMarkedGood;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _tasks.Close();
        _timer?.Dispose();
        _wake.Writer.TryComplete();
        if (_loop is not null) await _loop.ConfigureAwait(false);
        await WaitForTasksAsync().ConfigureAwait(false);
        await Book.StopAsync().ConfigureAwait(false);
    }

    private void OnPeerMarkedGood(object? sender, PeerMarkedGoodEventArgs e) => Book.MarkGood(e.Peer.Id);

    // Persistent peers go into the book with our own address as the source (CometBFT's node does this at start);
    // names are resolved in the background so a slow resolver never delays the start.
    private void AddPersistentPeersToBook(Switch sw, NetAddress ours)
    {
        foreach (var p in sw.Options.PersistentPeers)
        {
            if (NetAddressText.TryParseIp(p.Host, out var ip))
            {
                Book.AddAddress(new NetAddress(p.Id, ip, p.Port), ours);
                continue;
            }
            var address = p;
            RunTracked(async () =>
            {
                var resolved = await address.ResolveAsync(_stopping.Token).ConfigureAwait(false);
                Book.AddAddress(resolved, ours);
            });
        }
    }

    /// <inheritdoc/>
    public override void InitPeer(IPeer peer) => peer.Set(PeerStateKey, new PeerState());

    private static PeerState StateOf(IPeer peer)
    {
        if (peer.Get(PeerStateKey) is PeerState s) return s;
        // A peer the switch added before this reactor saw InitPeer (cannot happen with Switch; keep it total).
        var created = new PeerState();
        peer.Set(PeerStateKey, created);
        return created;
    }

    /// <inheritdoc/>
    public override ValueTask AddPeerAsync(IPeer peer, CancellationToken cancellationToken)
    {
        if (peer.IsOutbound)
        {
            if (Book.NeedMoreAddrs()) RequestAddrs(peer);
        }
        else if (peer.NodeInfo.TryGetNetAddress() is { } self)
        {
            // An inbound peer vouches only for itself; 0.0.0.0 and other invalid addresses are refused by the book.
            Book.AddAddress(self, self);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Sends a PexRequest unless one is outstanding to this connection or we asked this peer less than
    /// <see cref="PexReactorOptions.MinRequestInterval"/> ago.
    /// </summary>
    /// <returns>True if a request was queued.</returns>
    public bool RequestAddrs(IPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var state = StateOf(peer);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (state.RequestOutstanding) return false;
            if (_lastRequestSent.TryGetValue(peer.Id, out var last) && now - last < Options.MinRequestInterval) return false;
            if (!peer.TrySend(ChannelId, PexMessages.EncodeRequest())) return false;
            state.RequestOutstanding = true;
            _lastRequestSent[peer.Id] = now;
            if (_lastRequestSent.Count > MaxTrackedDialAttempts)
                foreach (var stale in _lastRequestSent.Where(kv => now - kv.Value >= Options.MinRequestInterval).Select(kv => kv.Key).ToList())
                    _lastRequestSent.Remove(stale);
        }
        Interlocked.Increment(ref _requestsSent);
        return true;
    }

    /// <inheritdoc/>
    public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        var peer = envelope.Source;
        var addrs = PexMessages.Decode(envelope.Message);
        if (addrs is null) OnRequest(peer);
        else OnAddrs(peer, addrs);
        return ValueTask.CompletedTask;
    }

    private void OnRequest(IPeer peer)
    {
        Interlocked.Increment(ref _requestsReceived);
        var state = StateOf(peer);
        if (Options.SeedMode && !peer.IsOutbound)
        {
            // A seed answers an inbound peer once, with a bias to new addresses, then hangs up after the answer
            // is flushed (tendermint/tendermint#1988); later requests on that connection are ignored, unchecked.
            lock (_lock)
            {
                if (state.SeedAnswered) return;
                state.SeedAnswered = true;
            }
            peer.TrySend(ChannelId, PexMessages.EncodeAddrs(Shareable(Book.GetSelectionWithBias(Options.SeedBiasTowardsNew))));
            Interlocked.Increment(ref _seedAnswers);
            var sw = RequireSwitch;
            RunTracked(() => sw.StopPeerGracefullyAsync(peer, "seed answered its PEX request"));
            return;
        }
        if (!CheckRequestRate(state, out var error))
        {
            Punish(peer, error);
            return;
        }
        peer.TrySend(ChannelId, PexMessages.EncodeAddrs(Shareable(Book.GetSelection())));
    }

    /// <summary>
    /// CometBFT's receiveRequest: the first request is free, the second is free and starts the clock, every later one
    /// must come at least a third of the ensure period (10 s) after the previous, less the configured slack.
    /// </summary>
    private bool CheckRequestRate(PeerState state, out string error)
    {
        error = "";
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!state.SeenRequest)
            {
                state.SeenRequest = true;
                return true;
            }
            if (state.LastRequest is not { } last)
            {
                state.LastRequest = now;
                return true;
            }
            var minimum = Options.EnsurePeersPeriod / 3;
            var elapsed = now - last;
            if (elapsed < minimum - Options.RequestIntervalSlack)
            {
                error = $"PexRequest {elapsed.TotalSeconds:0.###} s after the previous one (minimum {minimum.TotalSeconds:0.###} s)";
                return false;
            }
            state.LastRequest = now;
            return true;
        }
    }

    private void OnAddrs(IPeer peer, IReadOnlyList<Wire.Proto.NetAddress> proto)
    {
        if (proto.Count > Options.MaxAddressesPerMessage)
        {
            Punish(peer, $"PexAddrs with {proto.Count} addresses (at most {Options.MaxAddressesPerMessage})");
            return;
        }
        var addresses = new List<NetAddress>(proto.Count);
        foreach (var p in proto)
        {
            if (!NetAddress.TryFromProto(p, out var address, out var error))
            {
                Punish(peer, "PexAddrs: " + error);
                return;
            }
            addresses.Add(address);
        }
        var state = StateOf(peer);
        bool solicited;
        lock (_lock)
        {
            solicited = state.RequestOutstanding;
            state.RequestOutstanding = false;
        }
        if (!solicited)
        {
            Punish(peer, "unsolicited PexAddrs");
            return;
        }
        Interlocked.Increment(ref _addrsReceived);
        // The source is the sender's self-reported address (CometBFT); a host-name listen address falls back to the
        // socket address, which still carries the sender's group.
        var source = peer.NodeInfo.TryGetNetAddress() ?? peer.SocketAddress;
        var added = 0;
        foreach (var address in addresses)
            if (Book.AddAddress(address, source) == AddAddressResult.Added) added++;
        Interlocked.Add(ref _addressesAdded, added);
        PexLog.AddrsReceived(_logger, addresses.Count, peer.Id.ToString(), added);
        if (Options.SeedMode && peer.IsOutbound && !peer.IsPersistent)
        {
            // A crawled peer has told us what it knows; a seed does not keep it.
            var sw = RequireSwitch;
            RunTracked(() => sw.StopPeerGracefullyAsync(peer, "crawled"));
        }
        else if (IsSeed(peer.Id)) Wake(tick: false);
    }

    private bool IsSeed(NodeId id)
    {
        foreach (var s in Options.Seeds)
            if (s.Id == id) return true;
        return false;
    }

    // Private peers are never in the book; filter anyway so a later AddPrivateIds cannot race a selection.
    private List<NetAddress> Shareable(IReadOnlyList<NetAddress> selection)
    {
        var sw = Switch;
        return sw is null ? [.. selection] : selection.Where(a => !sw.IsPrivatePeer(a.Id)).ToList();
    }

    /// <summary>Disconnects the peer for PEX abuse and bans its ID (CometBFT: StopPeerForError + MarkBad 24 h).</summary>
    private void Punish(IPeer peer, string reason)
    {
        Interlocked.Increment(ref _punished);
        PexLog.Punished(_logger, peer.ToString() ?? peer.Id.ToString(), reason);
        Book.MarkBad(peer.SocketAddress.Id.IsEmpty ? new NetAddress(peer.Id, peer.RemoteIp, 0) : peer.SocketAddress, Options.BanDuration);
        RequireSwitch.StopPeerForError(peer, new ProtocolViolationException(ProtocolViolation.InvalidChannelMessage, reason), reason);
    }

    private void Wake(bool tick)
    {
        if (tick) Volatile.Write(ref _tickPending, 1);
        _wake.Writer.TryWrite(true);
    }

    private void RunTracked(Func<Task> work)
    {
        if (_stopping.IsCancellationRequested) return;
        // A failed dial or stop must not take the reactor down; it is logged and the next period retries.
        _tasks.Run(work, () => _stopping.IsCancellationRequested);
    }

    private Task WaitForTasksAsync() => _tasks.WaitAllAsync();

    /// <summary>Per-connection PEX state, kept in the peer's key/value store.</summary>
    private sealed class PeerState
    {
        public bool RequestOutstanding;
        public bool SeenRequest;
        public DateTimeOffset? LastRequest;
        public bool SeedAnswered;
    }
}
