using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard;

public sealed partial class Switch
{
    // Peer-set changes, reactor AddPeer/RemovePeer calls and events are serialised by this lock, so reactors see
    // Init → Add → Remove per peer in order and a reconnecting peer is never added before its old
    // incarnation was removed (PROTOCOL.md 5.1).
    private readonly SemaphoreSlim _peerLock = new(1, 1);
    private readonly Dictionary<NodeId, Peer> _peers = [];
    private readonly HashSet<Task> _background = [];
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

    /// <summary>Raised by <see cref="MarkPeerAsGood"/>; the PEX reactor moves the peer's address to its book's old table.</summary>
    public event Action<IPeer>? PeerMarkedGood;

    /// <summary>
    /// Reports that <paramref name="peer"/> has been useful (CometBFT's <c>MarkPeerAsGood</c>; its consensus reactor
    /// calls it every 10,000 useful votes or block parts). Raises <see cref="PeerMarkedGood"/> synchronously.
    /// </summary>
    public void MarkPeerAsGood(IPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        PeerMarkedGood?.Invoke(peer);
    }

    /// <summary>True when <paramref name="id"/> is one of the configured private peers.</summary>
    public bool IsPrivatePeer(NodeId id) => _private.Contains(id);

    /// <summary>True when <paramref name="id"/> is one of the configured persistent peers.</summary>
    public bool IsPersistentPeer(NodeId id) => _persistent.ContainsKey(id);

    private void RunInBackground(Func<Task> work)
    {
        lock (_background)
        {
            var task = Task.Run(async () =>
            {
                try
                {
                    await work().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    // Shutting down.
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Background work must never take the switch (or its StopAsync) down with it.
                    SwitchLog.BackgroundFailed(_logger, ex);
                }
            });
            _background.Add(task);
            task.ContinueWith(t => { lock (_background) _background.Remove(t); }, TaskScheduler.Default);
        }
    }

    private async Task WaitForBackgroundAsync()
    {
        while (true)
        {
            Task[] pending;
            lock (_background) pending = [.. _background];
            if (pending.Length == 0) return;
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    /// <summary>Adds an upgraded connection as a peer, resolving a duplicate by the deterministic tie-break.</summary>
    private async Task AddPeerAsync(TransportConnection conn)
    {
        var id = conn.NodeInfo.Id;
        await _peerLock.WaitAsync().ConfigureAwait(false);
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
                    SwitchLog.PeerRejected(_logger, id.ToString(), "duplicate connection (the existing one is kept by the tie-break)");
                    await conn.DisposeAsync().ConfigureAwait(false);
                    return;
                }
                await RemovePeerLockedAsync(existing, new DisconnectReason(DisconnectKind.Duplicate, false,
                    "replaced by a newer connection to the same peer")).ConfigureAwait(false);
            }
            if (!conn.IsOutbound && !_unconditional.Contains(id) && NumInboundPeers >= Options.MaxInboundPeers)
            {
                SwitchLog.PeerRejected(_logger, id.ToString(), $"inbound limit of {Options.MaxInboundPeers} reached");
                await conn.DisposeAsync().ConfigureAwait(false);
                return;
            }
            peer = new Peer(this, conn, IsPersistentPeer(id), _unconditional.Contains(id), Options.TimeProvider.GetUtcNow());
            foreach (var r in _reactors) r.Reactor.InitPeer(peer);
            peer.Start(_channels, Options.Connection, LoggerFactory.CreateLogger("Switchboard.MConnection"));
            lock (_peers)
            {
                _peers[id] = peer;
                _peerSnapshot = [.. _peers.Values];
            }
            SwitchMetrics.Peers.Add(1);
            foreach (var r in _reactors) await r.Reactor.AddPeerAsync(peer, _stopping.Token).ConfigureAwait(false);
            SwitchLog.PeerAdded(_logger, peer.ToString());
            Publish(new PeerAdded(peer));
        }
        catch (Exception ex) when (peer is not null && ex is not OutOfMemoryException)
        {
            SwitchLog.PeerRejected(_logger, id.ToString(), $"failed to start: {ex.Message}");
            StopPeerInBackground(peer, new DisconnectReason(DisconnectKind.StoppedForError, false, ex.Message, ex));
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

    private async Task StopPeerAsync(Peer peer, DisconnectReason reason, bool flush = false)
    {
        await _peerLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await RemovePeerLockedAsync(peer, reason, flush).ConfigureAwait(false);
        }
        finally
        {
            _peerLock.Release();
        }
    }

    private async Task RemovePeerLockedAsync(Peer peer, DisconnectReason reason, bool flush = false)
    {
        if (!peer.TryBeginStop()) return;
        peer.StopReason = reason;
        await peer.CloseAsync(flush, CancellationToken.None).ConfigureAwait(false);
        var wasMember = false;
        lock (_peers)
        {
            if (_peers.TryGetValue(peer.Id, out var current) && ReferenceEquals(current, peer))
            {
                _peers.Remove(peer.Id);
                _peerSnapshot = [.. _peers.Values];
                wasMember = true;
            }
        }
        if (!wasMember) return;
        SwitchMetrics.Peers.Add(-1);
        SwitchMetrics.Disconnects.Add(1, new KeyValuePair<string, object?>("reason", reason.Kind.ToString()));
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
