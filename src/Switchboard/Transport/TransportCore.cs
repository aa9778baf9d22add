using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Transport;

/// <summary>The transports built on <see cref="TransportCore"/>, so a Switch can give them its clock and duplicate-IP rule.</summary>
internal interface ICoreTransport
{
    TransportCore Core { get; }
}

/// <summary>
/// Everything TCP and in-memory transports share: the connection set and its filters, the accept slots, the
/// upgrade (SecretConnection → dialed-ID check → NodeInfo exchange → checks) under one deadline, and the queue of
/// upgraded inbound connections. A transport only supplies raw streams.
/// </summary>
internal sealed class TransportCore : IAsyncDisposable
{
    private readonly NodeKey _nodeKey;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _inboundSlots;
    private readonly Channel<TransportConnection> _accepted = Channel.CreateUnbounded<TransportConnection>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    // Never disposed: loops read its token after the transport closed (a disposed source would throw there).
    private readonly CancellationTokenSource _closing = new();
    private readonly object _gate = new();
    // Remote "ip:port" of every connection we hold or are handshaking, with whether it is an outbound dial
    // still in progress (those are exempt from the duplicate-IP rule, see IsFilteredLocked).
    private readonly Dictionary<IPEndPoint, ConnState> _connections = [];
    private readonly Internal.BackgroundTasks _handshakes;
    private NodeInfo? _local;
    private readonly TaskCompletionSource<NodeInfo> _localInfo = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private enum ConnState { Dialing, Inbound, Established }

    // 10 lines a minute: enough to see every refusal of a handful of misconfigured peers, at most 14,400 lines a day
    // under a flood of connections.
    private const int RefusalLogBurst = 10;
    private static readonly TimeSpan RefusalLogPeriod = TimeSpan.FromMinutes(1);
    private LogRateLimiter _refusalLog;
    // The clock and duplicate-IP rule in force: the options' own, or the Switch's (AdoptSwitchDefaults).
    private TimeProvider _clock;
    private bool _allowDuplicateIp;

    public TransportCore(NodeKey nodeKey, TransportOptions options, ILogger? logger)
    {
        options.Validate();
        _nodeKey = nodeKey;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        _inboundSlots = new SemaphoreSlim(options.MaxIncomingConnections, options.MaxIncomingConnections);
        _clock = options.TimeProvider;
        _allowDuplicateIp = options.AllowDuplicateIp;
        _refusalLog = new LogRateLimiter(RefusalLogBurst, RefusalLogPeriod, _clock);
        _handshakes = new Internal.BackgroundTasks(ex => TransportLog.UpgradeFailed(_logger, ex));
    }

    public TransportOptions Options { get; }

    /// <summary>The clock of every timeout: the options' own or the Switch's.</summary>
    public TimeProvider Clock => _clock;

    /// <summary>Whether several connections from one IP are allowed: the options' setting or the Switch's.</summary>
    public bool AllowDuplicateIp => Volatile.Read(ref _allowDuplicateIp);

    /// <summary>
    /// Called by the Switch that owns this transport, before it starts: one clock and one duplicate-IP setting for
    /// the node. The Switch's clock applies unless the transport's options set one (anything but
    /// <see cref="TimeProvider.System"/>); the duplicate-IP rule is allowed when either allows it.
    /// </summary>
    public void AdoptSwitchDefaults(TimeProvider clock, bool allowDuplicateIp)
    {
        ArgumentNullException.ThrowIfNull(clock);
        if (ReferenceEquals(Options.TimeProvider, TimeProvider.System) && !ReferenceEquals(clock, _clock))
        {
            _clock = clock;
            _refusalLog = new LogRateLimiter(RefusalLogBurst, RefusalLogPeriod, clock);
        }
        if (allowDuplicateIp) Volatile.Write(ref _allowDuplicateIp, true);
    }

    /// <summary>Our NodeInfo. A Switch learns its bound port only after listening, so an inbound upgrade that starts
    /// before this is set waits for it (under the handshake deadline) instead of failing.</summary>
    public NodeInfo? LocalNodeInfo
    {
        get => Volatile.Read(ref _local);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            Volatile.Write(ref _local, value);
            _localInfo.TrySetResult(value);
        }
    }

    public CancellationToken Closing => _closing.Token;

    /// <summary>Inbound upgrades in progress.</summary>
    public int PendingUpgrades => _handshakes.Count;

    /// <summary>Waits for a free inbound slot; the transport accepts one raw connection per slot.</summary>
    public Task AcquireInboundSlotAsync(CancellationToken cancellationToken) => _inboundSlots.WaitAsync(cancellationToken);

    public void ReleaseInboundSlot() => _inboundSlots.Release();

    /// <summary>Runs filters and the upgrade of an accepted raw stream in the background; a success is queued for AcceptAsync.</summary>
    /// <remarks>The caller has taken an inbound slot; it is released when the connection ends or the upgrade fails.</remarks>
    public void HandleInbound(Stream raw, IPEndPoint remote)
    {
        lock (_gate)
        {
            if (_closing.IsCancellationRequested)
            {
                raw.Dispose();
                ReleaseInboundSlot();
                return;
            }
            _handshakes.Run(() => UpgradeInboundAsync(raw, remote));
        }
    }

    private async Task UpgradeInboundAsync(Stream raw, IPEndPoint remote)
    {
        var registered = false;
        try
        {
            registered = await CheckAndRegisterAsync(remote, ConnState.Inbound, _closing.Token).ConfigureAwait(false);
            var (secret, info) = await UpgradeAsync(raw, dialedId: null, _closing.Token).ConfigureAwait(false);
            lock (_gate) _connections[remote] = ConnState.Established;
            var address = new NetAddress(info.Id, remote.Address, (ushort)remote.Port);
            var conn = new TransportConnection(secret, info, isOutbound: false, address, () => Release(remote, inbound: true));
            if (!_accepted.Writer.TryWrite(conn))
                await conn.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Every failure, expected or not, gives back the slot and the address entry: a leak here would slowly
            // close the node to inbound peers.
            if (ex is P2PException or IOException or OperationCanceledException or ObjectDisposedException)
                LogRefused(remote, ex);
            else
                TransportLog.UpgradeFailed(_logger, ex);
            try
            {
                await raw.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (registered) Release(remote, inbound: true);
                else ReleaseInboundSlot();
            }
        }
    }

    /// <summary>
    /// A refused or failed inbound connection, at Information so an operator sees why peers cannot connect (a node
    /// without common channels, the duplicate-IP rule, a wrong chain), rate-limited so a flood costs a bounded
    /// number of lines. Connections cut by our own shutdown are Debug.
    /// </summary>
    private void LogRefused(IPEndPoint remote, Exception ex)
    {
        if (_closing.IsCancellationRequested || !_logger.IsEnabled(LogLevel.Information))
        {
            TransportLog.InboundRejected(_logger, remote, ex.Message);
            return;
        }
        if (!_refusalLog.TryAcquire(out var suppressed)) return;
        var reason = ex switch
        {
            PeerRejectedException r => $"{r.Reason}: {r.Message}",
            ProtocolViolationException v => $"protocol violation ({v.Violation}): {v.Message}",
            P2PException p => p.Message,
            IOException => $"connection lost during the handshake ({ex.Message})",
            _ => ex.Message,
        };
        TransportLog.InboundRefused(_logger, remote, reason, suppressed == 0 ? ""
            : $" ({suppressed} more refused connection(s) not logged in the last {RefusalLogPeriod.TotalSeconds:0} s)");
    }

    public async ValueTask<TransportConnection> AcceptAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException("the transport is closed", ex);
        }
    }

    /// <summary>Connects with <paramref name="connect"/> under the dial timeout, then upgrades and checks the dialed ID.</summary>
    public async ValueTask<TransportConnection> DialAsync(NetAddress address,
        Func<CancellationToken, ValueTask<Stream>> connect, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_closing.IsCancellationRequested, this);
        if (address.Id.IsEmpty) throw new ArgumentException("a dial address needs the peer's ID", nameof(address));
        var remote = new IPEndPoint(address.Ip, address.Port);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        await CheckAndRegisterAsync(remote, ConnState.Dialing, linked.Token).ConfigureAwait(false);
        Stream? raw = null;
        try
        {
            using (var dialTimeout = new CancellationTokenSource(Options.DialTimeout, _clock))
            using (var dialToken = CancellationTokenSource.CreateLinkedTokenSource(linked.Token, dialTimeout.Token))
            {
                try
                {
                    raw = await connect(dialToken.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (dialTimeout.IsCancellationRequested && !linked.IsCancellationRequested)
                {
                    throw new P2PTimeoutException($"dial {address}", Options.DialTimeout, ex);
                }
            }
            var (secret, info) = await UpgradeAsync(raw, address.Id, linked.Token).ConfigureAwait(false);
            lock (_gate) _connections[remote] = ConnState.Established;
            return new TransportConnection(secret, info, isOutbound: true, address, () => Release(remote, inbound: false));
        }
        catch
        {
            if (raw is not null) await raw.DisposeAsync().ConfigureAwait(false);
            Release(remote, inbound: false);
            throw;
        }
    }

    /// <summary>The upgrade of CometBFT's transport, every step under one HandshakeTimeout.</summary>
    private async Task<(SecretConnection Secret, NodeInfo Info)> UpgradeAsync(Stream raw, NodeId? dialedId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(Options.HandshakeTimeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        SecretConnection? secret = null;
        try
        {
            var ours = LocalNodeInfo ?? await _localInfo.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            secret = await SecretConnection.HandshakeAsync(raw, _nodeKey, linked.Token).ConfigureAwait(false);
            if (dialedId is { } expected) Handshake.VerifyDialedId(expected, secret.RemoteId);
            var theirs = await Handshake.ExchangeNodeInfoAsync(secret, ours, linked.Token).ConfigureAwait(false);
            Handshake.VerifyPeer(theirs, secret.RemoteId, ours);
            return (secret, theirs);
        }
        catch (Exception ex)
        {
            if (secret is not null) await secret.DisposeAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                throw new P2PTimeoutException("handshake", Options.HandshakeTimeout, ex);
            throw;
        }
    }

    private async Task<bool> CheckAndRegisterAsync(IPEndPoint remote, ConnState state, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var reason = FilterReasonLocked(remote, state);
            if (reason is not null) throw new PeerRejectedException(RejectReason.Filtered, reason);
            _connections[remote] = state;
        }
        try
        {
            await RunCallerFiltersAsync(remote, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch
        {
            lock (_gate) _connections.Remove(remote);
            throw;
        }
    }

    private string? FilterReasonLocked(IPEndPoint remote, ConnState state)
    {
        if (_connections.ContainsKey(remote)) return $"duplicate connection to {remote}";
        if (AllowDuplicateIp) return null;
        // Outbound dials still in progress do not count: when two nodes dial each other at the same moment both
        // handshakes must be allowed to finish so the Switch can keep exactly one by the deterministic tie-break,
        // instead of both sides refusing each other (CometBFT's behaviour, PROTOCOL.md 5.4).
        foreach (var (ep, s) in _connections)
            if (ep.Address.Equals(remote.Address) && s != ConnState.Dialing && !(state == ConnState.Dialing && s == ConnState.Inbound))
                return $"duplicate IP {remote.Address} (allow_duplicate_ip is off)";
        return null;
    }

    private async Task RunCallerFiltersAsync(IPEndPoint remote, CancellationToken cancellationToken)
    {
        if (Options.Filters.Count == 0) return;
        using var timeout = new CancellationTokenSource(Options.FilterTimeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var checks = Options.Filters.Select(f => f(remote, linked.Token).AsTask()).ToArray();
        string?[] reasons;
        try
        {
            reasons = await Task.WhenAll(checks).WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PeerRejectedException(RejectReason.Filtered, $"connection filter timed out after {Options.FilterTimeout.TotalSeconds:0.#} s", ex);
        }
        foreach (var reason in reasons)
            if (reason is not null) throw new PeerRejectedException(RejectReason.Filtered, reason);
    }

    private void Release(IPEndPoint remote, bool inbound)
    {
        lock (_gate) _connections.Remove(remote);
        if (inbound) ReleaseInboundSlot();
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_closing.IsCancellationRequested) return;
            _closing.Cancel();
        }
        _accepted.Writer.TryComplete();
        await _handshakes.WaitAllAsync().ConfigureAwait(false);
        while (_accepted.Reader.TryRead(out var conn))
            await conn.DisposeAsync().ConfigureAwait(false);
    }
}
