using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard;

public sealed partial class Switch
{
    private readonly HashSet<NodeId> _dialing = [];
    private readonly HashSet<NodeId> _reconnecting = [];

    /// <summary>Number of dials in progress.</summary>
    public int NumDialing { get { lock (_dialing) return _dialing.Count; } }

    /// <summary>True while a dial to <paramref name="id"/> is in progress.</summary>
    public bool IsDialing(NodeId id) { lock (_dialing) return _dialing.Contains(id); }

    /// <summary>
    /// Dials a peer and adds it. Refused (<see cref="PeerRejectedException"/> with <see cref="RejectReason.Duplicate"/>)
    /// when already connected to or dialing that ID, or (unless duplicate IPs are allowed) connected to that IP.
    /// </summary>
    /// <returns>The added peer.</returns>
    public async Task<IPeer> DialPeerAsync(NetAddress address, CancellationToken cancellationToken = default)
    {
        _stopping.Token.ThrowIfCancellationRequested();
        if (!IsRunning) throw new InvalidOperationException("the switch is not running");
        if (address.Id == NodeId) throw new PeerRejectedException(RejectReason.Self, $"{address} is ourselves");
        lock (_dialing)
        {
            if (GetPeer(address.Id) is not null) throw new PeerRejectedException(RejectReason.Duplicate, $"already connected to {address.Id}");
            if (!_allowDuplicateIp && Peers.Any(p => p.RemoteIp.Equals(address.Ip)))
                throw new PeerRejectedException(RejectReason.Duplicate, $"already connected to a peer at {address.Ip}");
            if (!_dialing.Add(address.Id)) throw new PeerRejectedException(RejectReason.Duplicate, $"already dialing {address.Id}");
        }
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            var conn = await _transport.DialAsync(address, linked.Token).ConfigureAwait(false);
            await AddPeerAsync(conn).ConfigureAwait(false);
            return GetPeer(address.Id) ?? throw new PeerRejectedException(RejectReason.Duplicate,
                $"connection to {address} was not kept (duplicate or stopped during start)");
        }
        finally
        {
            lock (_dialing) _dialing.Remove(address.Id);
        }
    }

    /// <summary>Resolves a configured address (host names are looked up on every call) and dials it.</summary>
    public async Task<IPeer> DialPeerAsync(DialAddress address, CancellationToken cancellationToken = default)
    {
        var resolved = await address.ResolveAsync(cancellationToken).ConfigureAwait(false);
        return await DialPeerAsync(resolved, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts the redial routine for a persistent peer unless one is already running for that ID.</summary>
    private void StartPersistentDial(DialAddress address, bool initialJitter)
    {
        lock (_reconnecting)
            if (_stopping.IsCancellationRequested || !_reconnecting.Add(address.Id)) return;
        RunInBackground(async () =>
        {
            try
            {
                await PersistentDialLoopAsync(address, initialJitter).ConfigureAwait(false);
            }
            finally
            {
                lock (_reconnecting) _reconnecting.Remove(address.Id);
            }
        });
    }

    /// <summary>CometBFT's reconnect schedule: fast attempts, then exponential waits (capped), forever unless configured.</summary>
    private async Task PersistentDialLoopAsync(DialAddress address, bool initialJitter)
    {
        var policy = Options.Reconnect;
        var time = Options.TimeProvider;
        var token = _stopping.Token;
        try
        {
            if (initialJitter && Options.DialJitter > TimeSpan.Zero)
                await Task.Delay(TimeSpan.FromTicks((long)(Options.Random.NextDouble() * Options.DialJitter.Ticks)), time, token).ConfigureAwait(false);
            for (var attempt = 1; policy.MaxAttempts is not { } max || attempt <= max; attempt++)
            {
                if (GetPeer(address.Id) is not null) return;
                // The exponential phase waits before its attempts; the fast phase after them (as CometBFT).
                if (attempt > policy.FastAttempts)
                    await Task.Delay(policy.WaitBefore(attempt, Options.Random), time, token).ConfigureAwait(false);
                if (GetPeer(address.Id) is not null || IsDialing(address.Id)) return;
                try
                {
                    await DialPeerAsync(address, token).ConfigureAwait(false);
                    return;
                }
                catch (PeerRejectedException ex) when (ex.Reason == RejectReason.Duplicate)
                {
                    return;
                }
                catch (Exception ex) when (ex is P2PException or IOException or System.Net.Sockets.SocketException)
                {
                    SwitchLog.PersistentDialFailed(_logger, address.ToString(), attempt, ex.Message);
                }
                if (attempt <= policy.FastAttempts)
                    await Task.Delay(policy.WaitBefore(attempt, Options.Random), time, token).ConfigureAwait(false);
            }
            SwitchLog.PersistentGaveUp(_logger, address.ToString());
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Switch stopping.
        }
    }
}
