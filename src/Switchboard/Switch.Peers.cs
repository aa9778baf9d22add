using Switchboard.Internal;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard;

public sealed partial class Switch
{
    // Peer-set changes, reactor AddPeer/RemovePeer calls and events are serialised by this lock, so reactors see
    // Init → Add → Remove per peer in order and a reconnecting peer is never added before its old
    // incarnation was removed (PROTOCOL.md 5.1). Connections are never drained while it is held.
    private readonly SemaphoreSlim _peerLock = new(1, 1);
    private readonly Dictionary<NodeId, Peer> _peers = [];
    private readonly Dictionary<NodeId, Task> _removing = [];
    private readonly LogRateLimiter _refusalLog;
    private volatile IReadOnlyList<IPeer> _peerSnapshot = [];

    /// <summary>The connected peers (a snapshot).</summary>
    public IReadOnlyList<IPeer> Peers => _peerSnapshot;

    /// <summary>The peer with this ID, if connected.</summary>
    public IPeer? GetPeer(NodeId id)
    {
        lock (_peers) return _peers.TryGetValue(id, out var p) ? p : null;
    }

    /// <summary>Inbound peers that count towards <see cref="SwitchOptions.MaxInboundPeers"/>.</summary>
    public int NumInboundPeers => Peers.Count(p => !p.IsOutbound && !p.IsUnconditional);

    /// <summary>Outbound peers that count towards <see cref="SwitchOptions.MaxOutboundPeers"/>.</summary>
    public int NumOutboundPeers => Peers.Count(p => p.IsOutbound && !p.IsUnconditional);

    /// <summary>Raised by <see cref="MarkPeerAsGood"/>; the PEX reactor moves the peer's address to its book's old table.
    /// The sender is this Switch.</summary>
    public event EventHandler<PeerMarkedGoodEventArgs>? PeerMarkedGood;

    /// <summary>
    /// Reports that <paramref name="peer"/> has been useful (CometBFT's <c>MarkPeerAsGood</c>; its consensus reactor
    /// calls it every 10,000 useful votes or block parts). Raises <see cref="PeerMarkedGood"/> synchronously.
    /// </summary>
    public void MarkPeerAsGood(IPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        PeerMarkedGood?.Invoke(this, new PeerMarkedGoodEventArgs(peer));
    }

    /// <summary>True when <paramref name="id"/> is one of the configured private peers.</summary>
    public bool IsPrivatePeer(NodeId id) => _private.Contains(id);

    /// <summary>True when <paramref name="id"/> is one of the configured persistent peers.</summary>
    public bool IsPersistentPeer(NodeId id) => _persistent.ContainsKey(id);

    /// <summary>A refused peer, at Information with its address, at most 10 lines a minute (a reconnect loop or a
    /// flood cannot fill the log; the next line says how many were left out).</summary>
    private void LogRejected(TransportConnection conn, string reason)
    {
        if (!_refusalLog.TryAcquire(out var suppressed)) return;
        SwitchLog.PeerRejected(_logger, conn.NodeInfo.Id.ToString(), conn.SocketAddress.DialString, reason,
            suppressed > 0 ? $" ({suppressed} earlier refusals not logged)" : "");
    }

    private void RunInBackground(Func<Task> work) => _background.Run(work, () => _stopping.IsCancellationRequested);

    /// <summary>Adds an upgraded connection as a peer, resolving a duplicate by the deterministic tie-break.</summary>
    private async Task AddPeerAsync(TransportConnection conn)
    {
        var id = conn.NodeInfo.Id;
        // An earlier incarnation of this peer that is still being stopped is removed (reactors' RemovePeer) before
        // the new one is added: wait for it outside the lock, since its close runs outside the lock too.
        while (true)
        {
            await _peerLock.WaitAsync().ConfigureAwait(false);
            Task? removal;
            lock (_removing) _removing.TryGetValue(id, out removal);
            if (removal is null) break;
            _peerLock.Release();
            await removal.ConfigureAwait(false);
        }
        Peer? peer = null;
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                await conn.DisposeAsync().ConfigureAwait(false);
                return;
            }
            Peer? existing;
            lock (_peers) _peers.TryGetValue(id, out existing);
            if (existing is not null)
            {
                if (!KeepNewConnection(existing, conn))
                {
                    LogRejected(conn, "duplicate connection (the existing one is kept by the tie-break)");
                    await conn.DisposeAsync().ConfigureAwait(false);
                    return;
                }
                // Replaced under the lock: an abort without flush, so it is quick.
                if (existing.TryBeginStop())
                {
                    var reason = new DisconnectReason(DisconnectKind.Duplicate, false, "replaced by a newer connection to the same peer");
                    existing.StopReason = reason;
                    Detach(existing);
                    await existing.CloseAsync(null, Options.TimeProvider).ConfigureAwait(false);
                    await PeerRemovedLockedAsync(existing, reason).ConfigureAwait(false);
                }
            }
            if (!conn.IsOutbound && !_unconditional.Contains(id) && NumInboundPeers >= Options.MaxInboundPeers)
            {
                LogRejected(conn, $"inbound limit of {Options.MaxInboundPeers} reached");
                await conn.DisposeAsync().ConfigureAwait(false);
                return;
            }
            var added = peer = new Peer(this, conn, IsPersistentPeer(id), _unconditional.Contains(id), Options.TimeProvider.GetUtcNow());
            foreach (var r in _reactors) r.Reactor.InitPeer(peer);
            var hooks = new MConnectionHooks(
                SchedulerFor: channel => _byChannel[channel]!.Inbound,
                OnClosed: added.OnConnectionClosed,
                Heartbeat: _heartbeat,
                SharedPool: _pool,
                LaneOwner: added,
                OnDropped: (channel, bytes) =>
                {
                    Metrics.Dropped(channel, bytes);
                    added.NoteDrop();
                });
            peer.Start(_channels, Options.Connection, hooks,
                new ScopedLogger(LoggerFactory.CreateLogger("Switchboard.MConnection"), added.IdTag, conn.SocketAddress.DialString));
            lock (_peers)
            {
                _peers[id] = peer;
                _peerSnapshot = [.. _peers.Values];
            }
            Metrics.PeerAdded();
            foreach (var r in _reactors) await r.Reactor.AddPeerAsync(peer, _stopping.Token).ConfigureAwait(false);
            SwitchLog.PeerAdded(_logger, peer.ToString());
            Publish(new PeerAdded(peer));
        }
        catch (Exception ex) when (peer is not null && ex is not OutOfMemoryException)
        {
            LogRejected(conn, $"failed to start: {ex.Message}");
            StopPeerInBackground(peer, new DisconnectReason(DisconnectKind.StoppedForError, false, ex.Message, ex));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Before the peer existed (a reactor's InitPeer threw, or the MConnection refused the channels): the
            // connection and its transport slot must not leak.
            LogRejected(conn, $"failed to start: {ex.Message}");
            await conn.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _peerLock.Release();
        }
    }

    /// <summary>
    /// Two connections to one peer: keep the one dialed by the lower node ID when they go in opposite directions
    /// (both sides compute the same answer, so a simultaneous dial converges on one socket without flapping);
    /// when both are inbound the remote evidently restarted and lost the old one, so the new one wins.
    /// </summary>
    private bool KeepNewConnection(Peer existing, TransportConnection incoming)
    {
        if (existing.IsOutbound == incoming.IsOutbound) return !incoming.IsOutbound;
        var remoteIsLower = incoming.NodeInfo.Id.CompareTo(NodeId) < 0;
        var incomingDialedByRemote = !incoming.IsOutbound;
        return remoteIsLower == incomingDialedByRemote;
    }

    /// <summary>Stops and removes a peer from any thread, without waiting (safe to call from reactor callbacks).</summary>
    internal void StopPeerInBackground(Peer peer, DisconnectReason reason)
    {
        if (peer.State is PeerState.Stopping or PeerState.Stopped) return;
        RunInBackground(() => StopPeerAsync(peer, reason));
    }

    /// <summary>Disconnects a peer for an error (CometBFT's StopPeerForError); persistent peers are redialed.</summary>
    /// <remarks>Returns at once; the peer is removed in the background, so it may be called from reactor code.</remarks>
    public void StopPeerForError(IPeer peer, Exception? error, string? reason = null)
    {
        if (peer is not Peer p) throw new ArgumentException("not a peer of this switch", nameof(peer));
        StopPeerInBackground(p, new DisconnectReason(
            error is ProtocolViolationException ? DisconnectKind.ProtocolError : DisconnectKind.StoppedForError,
            false, reason ?? error?.Message ?? "stopped for error", error));
    }

    /// <summary>Sends what is queued to the peer, then disconnects it without blame and without redialing.</summary>
    public Task StopPeerGracefullyAsync(IPeer peer, string reason = "graceful stop")
    {
        if (peer is not Peer p) throw new ArgumentException("not a peer of this switch", nameof(peer));
        return StopPeerAsync(p, new DisconnectReason(DisconnectKind.Graceful, false, reason), flush: true);
    }

    /// <summary>
    /// Stops a peer in three steps so that no lock is held while its connection drains: under the peer lock it leaves
    /// the peer set; outside it the connection is flushed (bounded by <see cref="SwitchOptions.GracefulStopTimeout"/>)
    /// or aborted; under the lock again reactors' RemovePeer runs and the event is published. A new connection from the
    /// same peer waits for the last step (<see cref="AddPeerAsync"/>), so reactors still see Remove before the next Add.
    /// </summary>
    private async Task StopPeerAsync(Peer peer, DisconnectReason reason, bool flush = false)
    {
        bool member;
        TaskCompletionSource? removed = null;
        await _peerLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!peer.TryBeginStop()) return;
            peer.StopReason = reason;
            member = Detach(peer);
            if (member)
            {
                removed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (_removing) _removing[peer.Id] = removed.Task;
            }
        }
        finally
        {
            _peerLock.Release();
        }
        try
        {
            await peer.CloseAsync(flush ? Options.GracefulStopTimeout : null, Options.Connection.TimeProvider).ConfigureAwait(false);
            if (!member) return;
            await _peerLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await PeerRemovedLockedAsync(peer, reason).ConfigureAwait(false);
            }
            finally
            {
                _peerLock.Release();
            }
        }
        finally
        {
            if (removed is not null)
            {
                lock (_removing)
                    if (_removing.TryGetValue(peer.Id, out var t) && t == removed.Task) _removing.Remove(peer.Id);
                removed.TrySetResult();
            }
        }
    }

    /// <summary>Takes the peer out of the set if it is the current incarnation of its ID.</summary>
    private bool Detach(Peer peer)
    {
        lock (_peers)
        {
            if (!_peers.TryGetValue(peer.Id, out var current) || !ReferenceEquals(current, peer)) return false;
            _peers.Remove(peer.Id);
            _peerSnapshot = [.. _peers.Values];
            return true;
        }
    }

    /// <summary>The peer's connection has stopped: reactors, metrics, log, event, persistent redial.</summary>
    private async Task PeerRemovedLockedAsync(Peer peer, DisconnectReason reason)
    {
        Metrics.PeerRemoved(reason);
        foreach (var r in _reactors)
        {
            try
            {
                await r.Reactor.RemovePeerAsync(peer, reason, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                SwitchLog.ReactorRemovePeerFailed(_logger, r.Reactor.Name, peer.Id.ToString(), ex);
            }
        }
        SwitchLog.PeerRemoved(_logger, peer.ToString(), reason.ToString());
        Publish(new PeerRemoved(peer, reason));
        if (peer.IsPersistent && reason.Kind is not (DisconnectKind.Duplicate or DisconnectKind.Shutdown or DisconnectKind.Graceful)
            && _persistent.TryGetValue(peer.Id, out var address))
            StartPersistentDial(address, initialJitter: false);
    }
}
