using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Pex;

// Ensure-peers, dialing with backoff, seeds, and seed-mode crawling (PROTOCOL.md 6.3, 6.4).
public sealed partial class PexReactor
{
    // 200 extra picks per round at most (each is a few dictionary operations) for picks the group limit refuses.
    private const int MaxGroupSkips = 200;
    private readonly Dictionary<NodeId, DateTimeOffset> _crawled = [];

    /// <summary>Arms the ensure-peers or crawl timer (before the loop starts, so StopAsync always finds it).</summary>
    private void StartTimer(Switch sw)
    {
        var period = Options.SeedMode ? Options.CrawlPeriod : Options.EnsurePeersPeriod;
        var due = period;
        if (!Options.SeedMode)
        {
            // First run at once when we have nothing; otherwise after a random part of the period, so that nodes
            // started together do not all ask at the same moment.
            if (sw.Peers.Count == 0 && sw.NumDialing == 0) Wake(tick: true);
            else due = TimeSpan.FromTicks((long)(NextDouble() * period.Ticks));
        }
        _timer = _time.CreateTimer(_ => Wake(tick: true), null, due, period);
    }

    private async Task EnsurePeersLoopAsync(CancellationToken token)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                var periodElapsed = Interlocked.Exchange(ref _tickPending, 0) == 1;
                EnsurePeers(periodElapsed);
                Interlocked.Increment(ref _rounds);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// One ensure-peers round: dial up to MaxOutboundPeers − (outbound + dialing) picked addresses; if the book
    /// still needs addresses, reinstate expired bans, ask a random peer (on the periodic tick only) and fall back to
    /// the seeds when nothing could be picked.
    /// </summary>
    private void EnsurePeers(bool periodElapsed)
    {
        var sw = Switch;
        if (sw is null || !sw.IsRunning) return;
        var outbound = sw.NumOutboundPeers;
        // A dial PEX started a moment ago may not have reached the switch yet: count it from our own table too.
        var dialing = Math.Max(sw.NumDialing, PendingDials);
        var numToDial = sw.Options.MaxOutboundPeers - (outbound + dialing);
        if (numToDial <= 0) return;
        // 10..90: the fewer outbound peers we have, the more we favour proven (old) addresses.
        var bias = Math.Min(outbound, 8) * 10 + 10;
        var groups = OutboundGroups(sw);
        var toDial = new Dictionary<NodeId, NetAddress>();
        // CometBFT tries 3 × numToDial picks. Picks refused by the per-group limit get a separate budget: a book
        // flooded by one group must not use up the tries that would find the other groups' addresses.
        var groupSkips = 0;
        for (var i = 0; i < numToDial * 3 && toDial.Count < numToDial; i++)
        {
            var candidate = Book.PickAddress(bias);
            if (candidate is null || toDial.ContainsKey(candidate.Id)) continue;
            if (sw.GetPeer(candidate.Id) is not null || sw.IsDialing(candidate.Id)) continue;
            if (GroupLimited(candidate, groups, out var group))
            {
                if (++groupSkips <= MaxGroupSkips) i--;
                continue;
            }
            if (group is not null) groups[group] = groups.GetValueOrDefault(group) + 1;
            toDial[candidate.Id] = candidate;
        }
        foreach (var address in toDial.Values) StartDial(address, requestOnSuccess: false);
        if (!Book.NeedMoreAddrs()) return;
        Book.ReinstateBadPeers();
        if (!Book.NeedMoreAddrs()) return;
        // Only on the periodic tick: a fast-dial wake-up asking again could reach a peer < 10 s after the previous
        // request and get us banned (cometbft/cometbft#4620), and would re-dial a seed that just answered.
        if (!periodElapsed) return;
        // Ask an outbound peer (one we chose) rather than any peer, as Bitcoin Core does with getaddr: anyone can
        // connect in, so inbound peers are the cheapest way to feed us a flood. Any peer if there is no outbound one.
        var peers = sw.Peers;
        var outboundPeers = peers.Where(p => p.IsOutbound).ToList();
        var candidates = outboundPeers.Count > 0 ? outboundPeers : peers;
        if (candidates.Count > 0) RequestAddrs(candidates[NextInt(candidates.Count)]);
        // CometBFT dials the seeds only when nothing could be picked. Also do it when this round cannot reach half
        // the outbound target: a book filled by one group (refused by the group limit) or by dead addresses always
        // yields a pick or two, and would otherwise never send us back to the seeds (tendermint/tendermint#3778).
        if (toDial.Count == 0 || outbound + toDial.Count < sw.Options.MaxOutboundPeers / 2) DialSeeds();
    }

    /// <summary>Counts our outbound connections (and PEX dials in progress) per address group.</summary>
    private Dictionary<string, int> OutboundGroups(Switch sw)
    {
        var groups = new Dictionary<string, int>(StringComparer.Ordinal);
        if (Options.MaxOutboundPerGroup == 0) return groups;
        foreach (var p in sw.Peers)
            if (p.IsOutbound && p.SocketAddress.IsRoutable)
            {
                var g = Book.GroupOf(p.SocketAddress);
                groups[g] = groups.GetValueOrDefault(g) + 1;
            }
        lock (_lock)
            foreach (var g in _dialingGroups.Values)
                if (g.Length > 0) groups[g] = groups.GetValueOrDefault(g) + 1;
        return groups;
    }

    private bool GroupLimited(NetAddress candidate, Dictionary<string, int> groups, out string? group)
    {
        group = null;
        // Non-routable addresses (local test networks with Strict off) share groups by nature; never limit them.
        if (Options.MaxOutboundPerGroup == 0 || !candidate.IsRoutable) return false;
        group = Book.GroupOf(candidate);
        return groups.GetValueOrDefault(group) >= Options.MaxOutboundPerGroup;
    }

    private void StartDial(NetAddress address, bool requestOnSuccess)
    {
        var group = Options.MaxOutboundPerGroup > 0 && address.IsRoutable ? Book.GroupOf(address) : "";
        lock (_lock)
            if (!_dialingGroups.TryAdd(address.Id, group)) return;
        RunTracked(async () =>
        {
            try
            {
                var peer = await DialAsync(address, _stopping.Token).ConfigureAwait(false);
                if (peer is not null && requestOnSuccess) RequestAddrs(peer);
            }
            finally
            {
                lock (_lock) _dialingGroups.Remove(address.Id);
            }
        });
    }

    /// <summary>CometBFT's dialPeer: the attempt limit, exponential backoff per dial string, then the switch's dial.</summary>
    /// <returns>The peer on success; null when skipped or failed (recorded in the book and the attempt table).</returns>
    private async Task<IPeer?> DialAsync(NetAddress address, CancellationToken token)
    {
        var sw = RequireSwitch;
        var key = address.DialString;
        var now = _time.GetUtcNow();
        var persistent = sw.IsPersistentPeer(address.Id);
        lock (_lock)
        {
            var (attempts, last) = _dialAttempts.GetValueOrDefault(key);
            if (!persistent && attempts > Options.MaxDialAttempts)
            {
                _dialAttempts.Remove(key);
                Book.MarkBad(address, Options.BanDuration);
                return null;
            }
            if (attempts > 0)
            {
                // 2^n s + uniform(0, 1 s) since the last attempt (n = failed attempts so far).
                var backoff = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempts, 30)) + _random.NextDouble());
                if (persistent && Options.PersistentPeersMaxDialPeriod > TimeSpan.Zero && backoff > Options.PersistentPeersMaxDialPeriod)
                    backoff = Options.PersistentPeersMaxDialPeriod;
                if (now - last < backoff) return null;
            }
        }
        Interlocked.Increment(ref _dialsStarted);
        try
        {
            var peer = await sw.DialPeerAsync(address, token).ConfigureAwait(false);
            lock (_lock) _dialAttempts.Remove(key);
            Interlocked.Increment(ref _dialsSucceeded);
            return peer;
        }
        catch (PeerRejectedException ex) when (ex.Reason == RejectReason.Duplicate)
        {
            // Already connected or dialing: not the address's fault.
            return null;
        }
        catch (PeerRejectedException ex) when (ex.Reason == RejectReason.Self)
        {
            PexLog.SelfAddress(_logger, address.ToString());
            Book.RemoveAddress(address);
            Book.AddOurAddress(address);
            lock (_lock) _dialAttempts.Remove(key);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
        {
            Interlocked.Increment(ref _dialsFailed);
            Book.MarkAttempt(address);
            int attempts;
            lock (_lock)
            {
                attempts = _dialAttempts.GetValueOrDefault(key).Attempts + 1;
                _dialAttempts[key] = (attempts, _time.GetUtcNow());
                if (_dialAttempts.Count > MaxTrackedDialAttempts)
                    _dialAttempts.Remove(_dialAttempts.MinBy(kv => kv.Value.Last).Key);
            }
            PexLog.DialFailed(_logger, address.ToString(), attempts, ex.Message);
            return null;
        }
    }

    /// <summary>Dials the seeds in random order until one connects (or one is already connected).</summary>
    private void DialSeeds()
    {
        if (Options.Seeds.Count == 0 || Interlocked.Exchange(ref _seedDialRunning, 1) == 1) return;
        var sw = RequireSwitch;
        var seeds = Options.Seeds.ToArray();
        lock (_lock)
            for (var i = seeds.Length - 1; i > 0; i--)
            {
                var j = _random.Next(i + 1);
                (seeds[i], seeds[j]) = (seeds[j], seeds[i]);
            }
        RunTracked(async () =>
        {
            try
            {
                foreach (var seed in seeds)
                {
                    if (sw.GetPeer(seed.Id) is not null) return;
                    try
                    {
                        Interlocked.Increment(ref _dialsStarted);
                        await sw.DialPeerAsync(seed, _stopping.Token).ConfigureAwait(false);
                        Interlocked.Increment(ref _dialsSucceeded);
                        return;
                    }
                    catch (PeerRejectedException ex) when (ex.Reason == RejectReason.Duplicate)
                    {
                        return;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref _dialsFailed);
                        PexLog.SeedDialFailed(_logger, seed.ToString(), ex.Message);
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _seedDialRunning, 0);
            }
        });
    }

    private async Task CrawlLoopAsync(CancellationToken token)
    {
        try
        {
            // At start: the seeds if any, else the book.
            if (Options.Seeds.Count > 0) DialSeeds();
            else await CrawlAsync(token).ConfigureAwait(false);
            while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                if (Interlocked.Exchange(ref _tickPending, 0) == 0) continue;
                DisconnectOldPeers();
                await CrawlAsync(token).ConfigureAwait(false);
                PruneCrawlRecords();
                Interlocked.Increment(ref _rounds);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Seed mode: peers connected for <see cref="PexReactorOptions.SeedIdleTimeout"/> go (never persistent ones).</summary>
    private void DisconnectOldPeers()
    {
        var sw = RequireSwitch;
        var now = _time.GetUtcNow();
        foreach (var peer in sw.Peers)
        {
            if (peer.IsPersistent) continue;
            // Beyond CometBFT: a peer that has not been served (inbound: asked nothing; outbound: did not answer our
            // crawl request) within SeedIdleTimeout goes, so idle connections cannot hold a seed's inbound slots.
            var connected = now - peer.ConnectedAt;
            if (connected >= Options.SeedIdleTimeout || connected >= Options.SeedDisconnectAfter)
                RunTracked(() => sw.StopPeerGracefullyAsync(peer, "seed: peer connected long enough"));
        }
    }

    /// <summary>Seed mode: dial every selected address not crawled recently and ask it for addresses.</summary>
    private async Task CrawlAsync(CancellationToken token)
    {
        var sw = RequireSwitch;
        var now = _time.GetUtcNow();
        var targets = new List<NetAddress>();
        lock (_lock)
            foreach (var address in Book.GetSelection())
            {
                if (_crawled.TryGetValue(address.Id, out var at) && now - at < Options.MinCrawlInterval) continue;
                if (sw.GetPeer(address.Id) is not null) continue;
                _crawled[address.Id] = now;
                targets.Add(address);
            }
        await Parallel.ForEachAsync(targets, new ParallelOptions { MaxDegreeOfParallelism = Options.CrawlConcurrency, CancellationToken = token },
            async (address, ct) =>
            {
                var peer = await DialAsync(address, ct).ConfigureAwait(false);
                if (peer is not null) RequestAddrs(peer);
            }).ConfigureAwait(false);
    }

    private void PruneCrawlRecords()
    {
        var now = _time.GetUtcNow();
        lock (_lock)
            foreach (var id in _crawled.Where(kv => now - kv.Value > Options.CrawlRetention).Select(kv => kv.Key).ToList())
                _crawled.Remove(id);
    }

    private double NextDouble()
    {
        lock (_lock) return _random.NextDouble();
    }

    private int NextInt(int max)
    {
        lock (_lock) return _random.Next(max);
    }
}
