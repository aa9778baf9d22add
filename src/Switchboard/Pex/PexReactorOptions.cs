using Switchboard.Peers;

namespace Switchboard.Pex;

/// <summary>Settings of a <see cref="PexReactor"/>. Defaults are CometBFT's (PROTOCOL.md 6.2) unless stated.</summary>
public sealed record PexReactorOptions
{
    /// <summary>Seed nodes dialed when the book has nothing to dial (host names are resolved on every dial).</summary>
    public IReadOnlyList<DialAddress> Seeds { get; init; } = [];

    /// <summary>
    /// Seed (crawler) mode: no ensure-peers; crawl the book instead, answer each inbound peer's first request with
    /// a new-biased selection, then disconnect it. Default false.
    /// </summary>
    public bool SeedMode { get; init; }

    /// <summary>Ensure-peers (and request pacing) period. Default 30 s. Inbound requests closer than a third of it are abuse.</summary>
    public TimeSpan EnsurePeersPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Tolerance subtracted from the 10 s minimum between a peer's requests, for honest peers whose timers drift
    /// or that wake early (cometbft/cometbft#4620, tendermint/tendermint#3338). Default 1 s: requests 9 s apart
    /// pass, 1 s apart still cost the peer its connection and a ban.
    /// </summary>
    public TimeSpan RequestIntervalSlack { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Minimum between two of our requests to one peer, across reconnections. Default 30 s: CometBFT nodes ban
    /// requests closer than 10 s, and some versions send them closer (PROTOCOL.md 6.5); we never do.
    /// </summary>
    public TimeSpan MinRequestInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long abusive peers and undialable addresses are banned. Default 24 h.</summary>
    public TimeSpan BanDuration { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Failed dials of one address after which the next pick bans it instead (non-persistent peers). Default 16.</summary>
    public int MaxDialAttempts { get; init; } = 16;

    /// <summary>Upper bound of the per-address dial backoff for persistent peers; zero = none. Default zero.</summary>
    public TimeSpan PersistentPeersMaxDialPeriod { get; init; }

    /// <summary>
    /// Most outbound connections PEX makes into one address group (/16 IPv4, /32 IPv6; routable addresses only);
    /// 0 = no limit. Default 1, as Bitcoin Core: an attacker holding one /16 gets at most one of our outbound
    /// slots however many IDs it floods the book with (tendermint/tendermint#4846). Persistent peers are not limited.
    /// </summary>
    public int MaxOutboundPerGroup { get; init; } = 1;

    /// <summary>Most addresses accepted in one PexAddrs; more is abuse. Default 250 (CometBFT never sends more).</summary>
    public int MaxAddressesPerMessage { get; init; } = AddrBook.MaxGetSelection;

    /// <summary>Seed mode: crawl period. Default 30 s.</summary>
    public TimeSpan CrawlPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Seed mode: one address is crawled at most this often. Default 2 min.</summary>
    public TimeSpan MinCrawlInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Seed mode: how long crawl records are kept. Default 24 h.</summary>
    public TimeSpan CrawlRetention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Seed mode: non-persistent peers connected this long are disconnected. Default 28 h (CometBFT's node).</summary>
    public TimeSpan SeedDisconnectAfter { get; init; } = TimeSpan.FromHours(28);

    /// <summary>
    /// Seed mode: non-persistent peers still connected this long are disconnected (checked every crawl period).
    /// A seed serves a peer in one exchange, so a longer connection is idle; without this (CometBFT keeps them up
    /// to <see cref="SeedDisconnectAfter"/>) connections that never ask can hold all of a seed's inbound slots.
    /// Default 60 s; set it to <see cref="SeedDisconnectAfter"/> for CometBFT's behaviour.
    /// </summary>
    public TimeSpan SeedIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Seed mode: share of new addresses in the answer to an inbound peer, in percent. Default 30.</summary>
    public int SeedBiasTowardsNew { get; init; } = 30;

    /// <summary>Seed mode: dials run in parallel during one crawl. Default 8.</summary>
    public int CrawlConcurrency { get; init; } = 8;

    /// <summary>Clock for every period, backoff and rate limit.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Randomness for peer choice and jitter; tests pass a seeded one.</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Seeds);
        if (EnsurePeersPeriod <= TimeSpan.Zero || CrawlPeriod <= TimeSpan.Zero) throw new ArgumentException("periods must be positive");
        if (RequestIntervalSlack < TimeSpan.Zero || RequestIntervalSlack >= EnsurePeersPeriod / 3)
            throw new ArgumentException("RequestIntervalSlack must be in [0, EnsurePeersPeriod / 3)");
        if (MinRequestInterval < EnsurePeersPeriod / 3)
            throw new ArgumentException("MinRequestInterval below EnsurePeersPeriod / 3 would get us banned by CometBFT peers");
        if (BanDuration <= TimeSpan.Zero) throw new ArgumentException("BanDuration must be positive");
        if (MaxDialAttempts < 0 || MaxOutboundPerGroup < 0) throw new ArgumentException("limits must not be negative");
        if (PersistentPeersMaxDialPeriod < TimeSpan.Zero) throw new ArgumentException("PersistentPeersMaxDialPeriod must not be negative");
        if (MaxAddressesPerMessage < 1) throw new ArgumentException("MaxAddressesPerMessage must be at least 1");
        if (MinCrawlInterval < TimeSpan.Zero || CrawlRetention < TimeSpan.Zero || SeedDisconnectAfter <= TimeSpan.Zero
            || SeedIdleTimeout <= TimeSpan.Zero)
            throw new ArgumentException("seed-mode intervals out of range");
        if (SeedBiasTowardsNew is < 0 or > 100) throw new ArgumentException("SeedBiasTowardsNew must be 0..100");
        if (CrawlConcurrency < 1) throw new ArgumentException("CrawlConcurrency must be at least 1");
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Random);
    }
}
