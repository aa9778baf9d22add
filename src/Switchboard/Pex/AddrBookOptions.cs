namespace Switchboard.Pex;

/// <summary>
/// Settings of an <see cref="AddrBook"/>. The bucket layout and the bad-address rules are CometBFT's and fixed
/// (PROTOCOL.md 7.1); what is here are the file, the clock, the randomness and the protections CometBFT lacks.
/// </summary>
public sealed record AddrBookOptions
{
    /// <summary>Where the book is loaded from and saved to (CometBFT's <c>addrbook.json</c> format). Null: memory only.</summary>
    public string? FilePath { get; init; }

    /// <summary>
    /// CometBFT's <c>addr_book_strict</c>: refuse non-routable addresses (RFC 1918, loopback, …) and group them as
    /// "local" / "unroutable". Default true; set false for local test networks.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>How often the book is saved while running (and once more on stop). Default 2 min as CometBFT.</summary>
    public TimeSpan SaveInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Most node IDs one routable IP address may hold in the book; 0 = no limit. Default 4: enough for a few
    /// nodes (sentries, validators) behind one NAT address, far below the thousands an attacker can mint for
    /// free (IDs cost nothing: tendermint/tendermint#4846). Non-routable addresses (Strict = false) are not capped.
    /// </summary>
    public int MaxIdsPerIp { get; init; } = 4;

    /// <summary>
    /// Most node IDs one address group (/16 IPv4, /32 IPv6, PROTOCOL.md 7.2) may hold in the book; 0 = no limit.
    /// Default 64: one bucket's worth, so a single /16 can never hold more than about 3% of a full book's
    /// 20,800 places, while a cloud /16 with dozens of honest nodes still fits.
    /// </summary>
    public int MaxIdsPerGroup { get; init; } = 64;

    /// <summary>
    /// Test-before-evict: when a new bucket is full, an unknown newcomer only replaces an entry that is bad, stale
    /// (never reached and added more than <see cref="StaleAfter"/> ago) or also held in another bucket; otherwise
    /// the newcomer is dropped. CometBFT always evicts the oldest entry, which lets a flood push out known peers.
    /// Default true.
    /// </summary>
    public bool TestBeforeEvict { get; init; } = true;

    /// <summary>Age of the last attempt after which a never-reached entry may be evicted by a newcomer. Default 24 h.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Bans kept at once (bans of IDs that are not in the book included); the ban ending first is dropped when
    /// full. Default 10,000.
    /// </summary>
    public int MaxBans { get; init; } = 10_000;

    /// <summary>
    /// Largest <c>addrbook.json</c> accepted; a bigger file is treated as corrupt. Default 32 MiB (a full
    /// CometBFT book of 20,800 entries is about 10 MiB with tab indentation).
    /// </summary>
    public long MaxFileBytes { get; init; } = 32L << 20;

    /// <summary>Entries read from a file at most (the rest are skipped and counted). Default 40,000 (twice a full book).</summary>
    public int MaxFileEntries { get; init; } = 40_000;

    /// <summary>Clock for attempts, bans and the save timer.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Source of randomness (bucket choice, selections, the hash key); tests pass a seeded one.</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (SaveInterval <= TimeSpan.Zero) throw new ArgumentException("SaveInterval must be positive");
        if (MaxIdsPerIp < 0 || MaxIdsPerGroup < 0) throw new ArgumentException("per-IP / per-group caps must not be negative");
        if (StaleAfter < TimeSpan.Zero) throw new ArgumentException("StaleAfter must not be negative");
        if (MaxBans < 1) throw new ArgumentException("MaxBans must be at least 1");
        if (MaxFileBytes < 1 || MaxFileEntries < 0) throw new ArgumentException("file limits must be positive");
        if (FilePath is { Length: 0 }) throw new ArgumentException("FilePath must not be empty (use null for a memory-only book)");
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Random);
    }
}
