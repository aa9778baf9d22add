using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Pex;

/// <summary>Which table an address-book entry lives in (CometBFT's bucket type byte: new = 1, old = 2).</summary>
internal enum BucketType : byte
{
    /// <summary>Learned but never proven good.</summary>
    New = 1,
    /// <summary>Proven good (<see cref="AddrBook.MarkGood"/>).</summary>
    Old = 2,
}

/// <summary>A read-only snapshot of one address-book entry.</summary>
/// <param name="Address">The peer's address.</param>
/// <param name="Source">Who told us about it.</param>
/// <param name="Type">New or old table.</param>
/// <param name="Buckets">Bucket indices holding it.</param>
/// <param name="Attempts">Failed dial attempts since the last success.</param>
/// <param name="LastAttempt">Last dial attempt (or when it was added).</param>
/// <param name="LastSuccess">Last time it was marked good; <see cref="DateTimeOffset.MinValue"/> if never.</param>
/// <param name="BannedUntil">End of the ban, for banned entries; <see cref="DateTimeOffset.MinValue"/> otherwise.</param>
internal sealed record AddrBookEntry(NetAddress Address, NetAddress Source, BucketType Type, IReadOnlyList<int> Buckets,
    int Attempts, DateTimeOffset LastAttempt, DateTimeOffset LastSuccess, DateTimeOffset BannedUntil);

/// <summary>One entry of the book (CometBFT's knownAddress). Guarded by the book's lock.</summary>
internal sealed class KnownAddress(NetAddress addr, NetAddress src)
{
    // CometBFT's isBad constants (PROTOCOL.md 7.1): numMissingDays 7, numRetries 3, maxFailures 10, minBadDays 7.
    private static readonly TimeSpan MissingTime = TimeSpan.FromDays(7);
    private const int NumRetries = 3;
    private const int MaxFailures = 10;
    private static readonly TimeSpan MinBadTime = TimeSpan.FromDays(7);
    private static readonly TimeSpan RecentAttempt = TimeSpan.FromMinutes(1);

    public NetAddress Addr { get; } = addr;
    public NetAddress Src { get; set; } = src;
    public List<int> Buckets { get; } = new(4);
    public int Attempts { get; set; }
    public BucketType Type { get; set; } = BucketType.New;
    public DateTimeOffset LastAttempt { get; set; }
    public DateTimeOffset LastSuccess { get; set; } = DateTimeOffset.MinValue;
    /// <summary>CometBFT's <c>last_ban_time</c>, which holds the end of the ban.</summary>
    public DateTimeOffset BannedUntil { get; set; } = DateTimeOffset.MinValue;
    /// <summary>False for a ban on an ID that was never in the book: such a ban expires without reinstatement.</summary>
    public bool WasInBook { get; set; } = true;

    public NodeId Id => Addr.Id;
    public bool IsOld => Type == BucketType.Old;
    public bool IsNew => Type == BucketType.New;
    public bool IsBanned(DateTimeOffset now) => BannedUntil > now;

    /// <summary>CometBFT's isBad (new entries only, never within a minute of an attempt).</summary>
    public bool IsBad(DateTimeOffset now)
    {
        if (IsOld) return false;
        if (LastAttempt > now - RecentAttempt) return false;
        if (LastAttempt < now - MissingTime) return true;
        if (LastSuccess == DateTimeOffset.MinValue && Attempts >= NumRetries) return true;
        return LastSuccess < now - MinBadTime && Attempts >= MaxFailures;
    }

    public AddrBookEntry Snapshot() =>
        new(Addr, Src, Type, Buckets.ToArray(), Attempts, LastAttempt, LastSuccess, BannedUntil);
}
