using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Pex;

/// <summary>What <see cref="AddrBook.AddAddress"/> did with an address.</summary>
public enum AddAddressResult
{
    /// <summary>A new entry was created.</summary>
    Added,
    /// <summary>The ID was known (new) and now also sits in another new bucket.</summary>
    AddedBucket,
    /// <summary>The ID was known and nothing changed (old entry, already in 4 buckets, the 1/(2n) draw, same bucket).</summary>
    AlreadyKnown,
    /// <summary>The address fails <see cref="NetAddress.IsValid"/> (no ID, unspecified IP, RFC 3849, broadcast).</summary>
    Invalid,
    /// <summary>The ID is banned.</summary>
    Banned,
    /// <summary>The ID is a private peer.</summary>
    Private,
    /// <summary>The source is a private peer (what private peers tell us is not kept either).</summary>
    PrivateSource,
    /// <summary>The address (or ID) is one of our own.</summary>
    Self,
    /// <summary>Strict mode and the address is not routable.</summary>
    NotRoutable,
    /// <summary>The IP already holds <see cref="AddrBookOptions.MaxIdsPerIp"/> IDs.</summary>
    IpLimit,
    /// <summary>The group already holds <see cref="AddrBookOptions.MaxIdsPerGroup"/> IDs.</summary>
    GroupLimit,
    /// <summary>The target bucket is full of entries test-before-evict keeps.</summary>
    BucketFull,
}

/// <summary>
/// CometBFT's address book (PROTOCOL.md 7): node addresses in 256 "new" and 64 "old" buckets placed by a keyed
/// hash of address groups, so that one network group, or one source, can only fill a bounded part of it.
/// Thread-safe. Persisted in CometBFT's <c>addrbook.json</c> format, with bans kept in an extra field CometBFT
/// ignores. Beyond CometBFT: bans survive restarts and cover IDs not in the book, per-IP and per-group caps,
/// test-before-evict, our own IDs (not just address strings) are refused.
/// </summary>
public sealed partial class AddrBook : IAsyncDisposable
{
    /// <summary>256 new buckets (CometBFT's newBucketCount).</summary>
    public const int NewBucketCount = 256;
    /// <summary>64 old buckets (oldBucketCount).</summary>
    public const int OldBucketCount = 64;
    /// <summary>64 (new/oldBucketSize); the check is "more than 64 before insert", so 65 entries fit, as in CometBFT.</summary>
    public const int BucketSize = 64;
    /// <summary>32 new buckets one source group can reach (newBucketsPerGroup).</summary>
    public const int NewBucketsPerGroup = 32;
    /// <summary>4 old buckets per address group (oldBucketsPerGroup).</summary>
    public const int OldBucketsPerGroup = 4;
    /// <summary>4 new buckets at most per address (maxNewBucketsPerAddress).</summary>
    public const int MaxNewBucketsPerAddress = 4;
    /// <summary>Below 1000 entries the book asks for more (needAddressThreshold).</summary>
    public const int NeedAddressThreshold = 1000;
    /// <summary>GetSelection returns at least min(32, size) … (minGetSelection).</summary>
    public const int MinGetSelection = 32;
    /// <summary>… at most 250 (maxGetSelection; 250 × 256 bytes = the PEX channel's 64,000-byte cap).</summary>
    public const int MaxGetSelection = 250;
    /// <summary>… and 23 % of the book in between (getSelectionPercent).</summary>
    public const int GetSelectionPercent = 23;

    private readonly object _gate = new();
    private readonly Dictionary<NodeId, KnownAddress> _lookup = [];
    private readonly Dictionary<string, KnownAddress>[] _new = NewBuckets(NewBucketCount);
    private readonly Dictionary<string, KnownAddress>[] _old = NewBuckets(OldBucketCount);
    private readonly Dictionary<NodeId, KnownAddress> _bad = [];
    private readonly HashSet<string> _ourAddrs = [];
    private readonly HashSet<NodeId> _ourIds = [];
    private readonly HashSet<NodeId> _privateIds = [];
    private readonly Dictionary<IPAddress, int> _perIp = [];
    private readonly Dictionary<string, int> _perGroup = [];
    private readonly byte[] _hashKey = new byte[32];
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private string _key;
    private int _nNew, _nOld;

    /// <summary>Creates an empty book; <see cref="Start"/> loads the file (if any) and starts saving.</summary>
    public AddrBook(AddrBookOptions? options = null, ILogger? logger = null)
    {
        Options = options ?? new AddrBookOptions();
        Options.Validate();
        _time = Options.TimeProvider;
        _random = Options.Random;
        _logger = logger ?? NullLogger.Instance;
        // CometBFT keys HighwayHash with 32 random bytes per process (not persisted) and mixes the persisted 96-bit
        // key into every hashed string; placement only has to be unpredictable to others, not reproducible.
        _random.NextBytes(_hashKey);
        _key = NewKey(_random);
    }

    /// <summary>The settings.</summary>
    public AddrBookOptions Options { get; }

    /// <summary>The persisted 96-bit bucket key as 24 lowercase hex characters (CometBFT's <c>key</c>).</summary>
    public string Key { get { lock (_gate) return _key; } }

    /// <summary>Number of entries (new + old), banned ones not counted.</summary>
    public int Size { get { lock (_gate) return _lookup.Count; } }

    /// <summary>Entries in the new table.</summary>
    public int NumNew { get { lock (_gate) return _nNew; } }

    /// <summary>Entries in the old table.</summary>
    public int NumOld { get { lock (_gate) return _nOld; } }

    /// <summary>Banned IDs (expired bans not yet reinstated included).</summary>
    public int NumBanned { get { lock (_gate) return _bad.Count; } }

    /// <summary>True when the book holds no entry.</summary>
    public bool Empty => Size == 0;

    /// <summary>True below <see cref="NeedAddressThreshold"/> entries: PEX should ask for more.</summary>
    public bool NeedMoreAddrs() => Size < NeedAddressThreshold;

    /// <summary>The address group of <paramref name="address"/> as this book computes it (PROTOCOL.md 7.2).</summary>
    public string GroupOf(NetAddress address) => GroupKey(address, Options.Strict);

    /// <summary>Records one of our own addresses; it (and any address with its ID) is never added, and is removed if present.</summary>
    public void AddOurAddress(NetAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
        {
            _ourAddrs.Add(address.ToString());
            if (address.Id.IsEmpty) return;
            _ourIds.Add(address.Id);
            if (_lookup.TryGetValue(address.Id, out var ka)) RemoveFromAllBucketsLocked(ka);
        }
    }

    /// <summary>True if <paramref name="address"/> (or its ID) is one of ours.</summary>
    public bool IsOurAddress(NetAddress address)
    {
        lock (_gate) return IsOursLocked(address);
    }

    /// <summary>Marks IDs as private: never stored (and entries they are the source of are not added).</summary>
    public void AddPrivateIds(IEnumerable<NodeId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        lock (_gate)
            foreach (var id in ids)
            {
                _privateIds.Add(id);
                if (_lookup.TryGetValue(id, out var ka)) RemoveFromAllBucketsLocked(ka);
            }
    }

    /// <summary>True if the ID has an entry (banned entries excluded).</summary>
    public bool HasAddress(NodeId id)
    {
        lock (_gate) return _lookup.ContainsKey(id);
    }

    /// <summary>A snapshot of the entry for <paramref name="id"/> (banned ones too), or null.</summary>
    internal AddrBookEntry? GetEntry(NodeId id)
    {
        lock (_gate)
            return _lookup.TryGetValue(id, out var ka) ? ka.Snapshot() : _bad.TryGetValue(id, out var b) ? b.Snapshot() : null;
    }

    /// <summary>Snapshots of every entry (not banned ones).</summary>
    internal IReadOnlyList<AddrBookEntry> GetEntries()
    {
        lock (_gate) return _lookup.Values.Select(k => k.Snapshot()).ToList();
    }

    /// <summary>Snapshots of the banned entries.</summary>
    internal IReadOnlyList<AddrBookEntry> GetBans()
    {
        lock (_gate) return _bad.Values.Select(k => k.Snapshot()).ToList();
    }

    /// <summary>True while <paramref name="id"/> is on the ban list.</summary>
    public bool IsBanned(NodeId id)
    {
        lock (_gate) return _bad.ContainsKey(id);
    }

    /// <summary>
    /// Adds <paramref name="address"/> learned from <paramref name="source"/> (CometBFT's AddAddress, PROTOCOL.md 7.3,
    /// plus the per-IP/per-group caps and test-before-evict). Never throws for hostile input.
    /// </summary>
    public AddAddressResult AddAddress(NetAddress address, NetAddress source)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(source);
        if (!address.IsValid) return AddAddressResult.Invalid;
        lock (_gate)
        {
            if (_bad.ContainsKey(address.Id)) return AddAddressResult.Banned;
            if (_privateIds.Contains(address.Id)) return AddAddressResult.Private;
            if (!source.Id.IsEmpty && _privateIds.Contains(source.Id)) return AddAddressResult.PrivateSource;
            if (IsOursLocked(address)) return AddAddressResult.Self;
            if (Options.Strict && !address.IsRoutable) return AddAddressResult.NotRoutable;
            if (_lookup.TryGetValue(address.Id, out var known))
            {
                // An old entry keeps its address: a peer must not be able to move a proven node to another IP
                // (tendermint/tendermint#1581). A new one may gain buckets, less likely the more it has.
                if (known.IsOld || known.Buckets.Count >= MaxNewBucketsPerAddress) return AddAddressResult.AlreadyKnown;
                if (_random.Next(2 * known.Buckets.Count) != 0) return AddAddressResult.AlreadyKnown;
                var extra = CalcNewBucket(known.Addr, source);
                if (known.Buckets.Contains(extra)) return AddAddressResult.AlreadyKnown;
                return AddToNewBucketLocked(known, extra, newcomer: false) ? AddAddressResult.AddedBucket : AddAddressResult.AlreadyKnown;
            }
            var cap = CheckCapsLocked(address);
            if (cap != AddAddressResult.Added) return cap;
            var ka = new KnownAddress(address, source) { LastAttempt = _time.GetUtcNow() };
            return AddToNewBucketLocked(ka, CalcNewBucket(address, source), newcomer: true)
                ? AddAddressResult.Added
                : AddAddressResult.BucketFull;
        }
    }

    /// <summary>Removes the entry with <paramref name="address"/>'s ID, if any.</summary>
    public void RemoveAddress(NetAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
            if (_lookup.TryGetValue(address.Id, out var ka)) RemoveFromAllBucketsLocked(ka);
    }

    /// <summary>The ID proved useful: attempts reset, last success = now, moved to the old table.</summary>
    public void MarkGood(NodeId id)
    {
        lock (_gate)
        {
            if (!_lookup.TryGetValue(id, out var ka)) return;
            var now = _time.GetUtcNow();
            ka.Attempts = 0;
            ka.LastAttempt = now;
            ka.LastSuccess = now;
            if (ka.IsNew) MoveToOldLocked(ka);
        }
    }

    /// <summary>A dial to the address's ID was attempted (and failed): attempts + 1, last attempt = now.</summary>
    public void MarkAttempt(NetAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
        {
            if (!_lookup.TryGetValue(address.Id, out var ka)) return;
            ka.Attempts++;
            ka.LastAttempt = _time.GetUtcNow();
        }
    }

    /// <summary>
    /// Bans the address's ID for <paramref name="duration"/> (a ban is only ever extended): the entry leaves the
    /// buckets and <see cref="AddAddress"/> refuses the ID until <see cref="ReinstateBadPeers"/> runs after expiry.
    /// Unlike CometBFT an ID that is not in the book is banned too, and bans are saved with the book.
    /// </summary>
    public void MarkBad(NetAddress address, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Id.IsEmpty) return;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var until = duration >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now + duration;
            if (_bad.TryGetValue(address.Id, out var banned))
            {
                if (banned.BannedUntil < until) banned.BannedUntil = until;
                return;
            }
            KnownAddress entry;
            if (_lookup.TryGetValue(address.Id, out var ka))
            {
                RemoveFromAllBucketsLocked(ka);
                entry = ka;
            }
            else entry = new KnownAddress(address, address) { LastAttempt = now, WasInBook = false };
            if (entry.BannedUntil < until) entry.BannedUntil = until;
            AddBanLocked(entry);
        }
    }

    /// <summary>Ends expired bans; entries that were in the book go back into a new bucket.</summary>
    public void ReinstateBadPeers()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var ka in _bad.Values.Where(k => !k.IsBanned(now)).ToList())
            {
                _bad.Remove(ka.Id);
                if (!ka.WasInBook || _lookup.ContainsKey(ka.Id) || IsOursLocked(ka.Addr) || _privateIds.Contains(ka.Id)) continue;
                if (CheckCapsLocked(ka.Addr) != AddAddressResult.Added) continue;
                ka.Type = BucketType.New;
                ka.Buckets.Clear();
                AddToNewBucketLocked(ka, CalcNewBucket(ka.Addr, ka.Src), newcomer: true);
            }
        }
    }

    /// <summary>
    /// Picks an address to dial: the old or new table chosen at random with weights √nOld × (100 − bias) and
    /// √nNew × bias, then a random non-empty bucket, then a random entry. Null if the chosen table is empty.
    /// </summary>
    public NetAddress? PickAddress(int biasTowardsNewAddrs)
    {
        var bias = Math.Clamp(biasTowardsNewAddrs, 0, 100);
        lock (_gate)
        {
            if (_lookup.Count == 0) return null;
            var oldCorrelation = Math.Sqrt(_nOld) * (100 - bias);
            var newCorrelation = Math.Sqrt(_nNew) * bias;
            var pickOld = (newCorrelation + oldCorrelation) * _random.NextDouble() < oldCorrelation;
            if ((pickOld && _nOld == 0) || (!pickOld && _nNew == 0)) return null;
            var buckets = pickOld ? _old : _new;
            Dictionary<string, KnownAddress> bucket;
            do bucket = buckets[_random.Next(buckets.Length)];
            while (bucket.Count == 0);
            var index = _random.Next(bucket.Count);
            foreach (var ka in bucket.Values)
                if (index-- == 0) return ka.Addr;
            return null;
        }
    }

    /// <summary>Size of a PEX answer for a book of <paramref name="size"/> entries: max(min(32, size), 23 % of size), at most 250.</summary>
    public static int SelectionSize(int size) =>
        size <= 0 ? 0 : Math.Min(MaxGetSelection, Math.Max(Math.Min(MinGetSelection, size), size * GetSelectionPercent / 100));

    /// <summary>A random selection of <see cref="SelectionSize"/> addresses for a PEX answer.</summary>
    public IReadOnlyList<NetAddress> GetSelection()
    {
        lock (_gate)
        {
            var all = _lookup.Values.Select(k => k.Addr).ToArray();
            var n = SelectionSize(all.Length);
            PartialShuffleLocked(all, n);
            return all[..n];
        }
    }

    /// <summary>
    /// A selection of <see cref="SelectionSize"/> addresses with at least <paramref name="biasTowardsNewAddrs"/> % new
    /// ones (more if there are not enough old ones), the rest old (a seed's answer uses 30).
    /// </summary>
    public IReadOnlyList<NetAddress> GetSelectionWithBias(int biasTowardsNewAddrs)
    {
        var bias = Math.Clamp(biasTowardsNewAddrs, 0, 100);
        lock (_gate)
        {
            var n = SelectionSize(_lookup.Count);
            if (n == 0) return [];
            var requiredNew = Math.Max((int)Math.Round(bias / 100.0 * n, MidpointRounding.ToEven), n - _nOld);
            var selection = RandomPickLocked(BucketType.New, requiredNew);
            selection.AddRange(RandomPickLocked(BucketType.Old, n - selection.Count));
            return selection;
        }
    }

    private List<NetAddress> RandomPickLocked(BucketType type, int count)
    {
        if (count <= 0) return [];
        var all = _lookup.Values.Where(k => k.Type == type).Select(k => k.Addr).ToArray();
        var n = Math.Min(count, all.Length);
        PartialShuffleLocked(all, n);
        return [.. all[..n]];
    }

    private void PartialShuffleLocked<T>(T[] items, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var j = i + _random.Next(items.Length - i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private bool IsOursLocked(NetAddress address) =>
        _ourAddrs.Contains(address.ToString()) || (!address.Id.IsEmpty && _ourIds.Contains(address.Id));

    // Caps apply to routable addresses only: with Strict off (local test networks) every node may share 127.0.0.1.
    private AddAddressResult CheckCapsLocked(NetAddress address)
    {
        if (!address.IsRoutable) return AddAddressResult.Added;
        if (Options.MaxIdsPerIp > 0 && _perIp.TryGetValue(address.Ip, out var perIp) && perIp >= Options.MaxIdsPerIp)
            return AddAddressResult.IpLimit;
        if (Options.MaxIdsPerGroup > 0 && _perGroup.TryGetValue(GroupKey(address, Options.Strict), out var perGroup)
            && perGroup >= Options.MaxIdsPerGroup)
            return AddAddressResult.GroupLimit;
        return AddAddressResult.Added;
    }

    private void TrackLocked(KnownAddress ka)
    {
        if (!_lookup.TryAdd(ka.Id, ka)) return;
        if (!ka.Addr.IsRoutable) return;
        _perIp[ka.Addr.Ip] = _perIp.GetValueOrDefault(ka.Addr.Ip) + 1;
        var group = GroupKey(ka.Addr, Options.Strict);
        _perGroup[group] = _perGroup.GetValueOrDefault(group) + 1;
    }

    private void UntrackLocked(KnownAddress ka)
    {
        if (!_lookup.Remove(ka.Id)) return;
        if (!ka.Addr.IsRoutable) return;
        Decrement(_perIp, ka.Addr.Ip);
        Decrement(_perGroup, GroupKey(ka.Addr, Options.Strict));

        static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key) where TKey : notnull
        {
            if (!counts.TryGetValue(key, out var n)) return;
            if (n <= 1) counts.Remove(key);
            else counts[key] = n - 1;
        }
    }

    private void AddBanLocked(KnownAddress entry)
    {
        if (_bad.Count >= Options.MaxBans)
        {
            // Full: drop the ban that ends first (the least valuable one to keep).
            var first = _bad.Values.MinBy(k => k.BannedUntil)!;
            if (first.BannedUntil > entry.BannedUntil) return;
            _bad.Remove(first.Id);
        }
        _bad[entry.Id] = entry;
    }

    /// <summary>Adds to a new bucket, expiring an entry when it is full; false if test-before-evict kept the bucket.</summary>
    private bool AddToNewBucketLocked(KnownAddress ka, int index, bool newcomer)
    {
        var bucket = _new[index];
        var key = ka.Addr.ToString();
        if (bucket.ContainsKey(key)) return true;
        if (bucket.Count > BucketSize && !ExpireNewLocked(index, newcomer)) return false;
        bucket[key] = ka;
        ka.Buckets.Add(index);
        if (ka.Buckets.Count == 1) _nNew++;
        TrackLocked(ka);
        return true;
    }

    private bool AddToOldBucketLocked(KnownAddress ka, int index)
    {
        var bucket = _old[index];
        var key = ka.Addr.ToString();
        if (bucket.ContainsKey(key)) return true;
        if (bucket.Count > BucketSize) return false;
        bucket[key] = ka;
        ka.Buckets.Add(index);
        if (ka.Buckets.Count == 1) _nOld++;
        TrackLocked(ka);
        return true;
    }

    /// <summary>
    /// Makes room in a full new bucket. CometBFT drops a bad entry, else the one with the oldest last attempt.
    /// With test-before-evict a newcomer only displaces a bad entry, one also held in another bucket (nothing is
    /// lost) or a stale one (never reached, last attempt older than <see cref="AddrBookOptions.StaleAfter"/>).
    /// </summary>
    private bool ExpireNewLocked(int index, bool newcomer)
    {
        var bucket = _new[index];
        var now = _time.GetUtcNow();
        foreach (var ka in bucket.Values)
            if (ka.IsBad(now))
            {
                RemoveFromBucketLocked(ka, index);
                return true;
            }
        if (newcomer && Options.TestBeforeEvict)
        {
            foreach (var ka in bucket.Values)
                if (ka.Buckets.Count > 1)
                {
                    RemoveFromBucketLocked(ka, index);
                    return true;
                }
            var stale = PickOldest(bucket);
            if (stale.LastSuccess != DateTimeOffset.MinValue || stale.LastAttempt > now - Options.StaleAfter) return false;
            RemoveFromBucketLocked(stale, index);
            return true;
        }
        RemoveFromBucketLocked(PickOldest(bucket), index);
        return true;
    }

    private static KnownAddress PickOldest(Dictionary<string, KnownAddress> bucket)
    {
        KnownAddress? oldest = null;
        foreach (var ka in bucket.Values)
            if (oldest is null || ka.LastAttempt < oldest.LastAttempt)
                oldest = ka;
        return oldest!;
    }

    private void RemoveFromBucketLocked(KnownAddress ka, int index)
    {
        var buckets = ka.IsOld ? _old : _new;
        buckets[index].Remove(ka.Addr.ToString());
        ka.Buckets.Remove(index);
        if (ka.Buckets.Count > 0) return;
        if (ka.IsOld) _nOld--;
        else _nNew--;
        UntrackLocked(ka);
    }

    private void RemoveFromAllBucketsLocked(KnownAddress ka)
    {
        var buckets = ka.IsOld ? _old : _new;
        var key = ka.Addr.ToString();
        foreach (var index in ka.Buckets) buckets[index].Remove(key);
        if (ka.Buckets.Count > 0)
        {
            if (ka.IsOld) _nOld--;
            else _nNew--;
        }
        ka.Buckets.Clear();
        UntrackLocked(ka);
    }

    private void MoveToOldLocked(KnownAddress ka)
    {
        if (ka.Buckets.Count == 0) return;
        RemoveFromAllBucketsLocked(ka);
        ka.Type = BucketType.Old;
        var index = CalcOldBucket(ka.Addr);
        if (AddToOldBucketLocked(ka, index)) return;
        // No room: the oldest old entry goes back to a new bucket (demoted, not forgotten), as in CometBFT.
        var oldest = PickOldest(_old[index]);
        RemoveFromBucketLocked(oldest, index);
        oldest.Type = BucketType.New;
        AddToNewBucketLocked(oldest, CalcNewBucket(oldest.Addr, oldest.Src), newcomer: false);
        AddToOldBucketLocked(ka, index);
    }

    private static Dictionary<string, KnownAddress>[] NewBuckets(int count)
    {
        var buckets = new Dictionary<string, KnownAddress>[count];
        for (var i = 0; i < count; i++) buckets[i] = new Dictionary<string, KnownAddress>(StringComparer.Ordinal);
        return buckets;
    }

    private static string NewKey(Random random)
    {
        Span<byte> bytes = stackalloc byte[12];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
