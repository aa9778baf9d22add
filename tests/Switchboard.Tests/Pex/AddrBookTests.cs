using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Tests.Support;
using static Switchboard.Tests.Pex.PexTestKit;

namespace Switchboard.Tests.Pex;

/// <summary>Address book rules of PROTOCOL.md 7 and the protections beyond CometBFT.</summary>
public class AddrBookTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly Random _random = new(42);

    // CometBFT's TestAddrBookGroupKey (PROTOCOL.md 10.1), non-strict.
    [Theory]
    [InlineData("12.1.2.3", "12.1.0.0")]
    [InlineData("173.1.2.3", "173.1.0.0")]
    [InlineData("196.1.2.3", "196.1.0.0")]
    [InlineData("2002:0c01:0203::", "12.1.0.0")]
    [InlineData("2001:0:1234::f3fe:fdfc", "12.1.0.0")]
    [InlineData("64:ff9b::0c01:0203", "12.1.0.0")]
    [InlineData("::ffff:0:0c01:0203", "12.1.0.0")]
    [InlineData("fd87:d87e:eb43:1234::5678", "tor:2")]
    [InlineData("fd87:d87e:eb43:1245::6789", "tor:2")]
    [InlineData("fd87:d87e:eb43:1345::6789", "tor:3")]
    [InlineData("2602:100::1", "2602:100::")]
    [InlineData("2602:0100::1234", "2602:100::")]
    [InlineData("2001:470:1f10:a1::2", "2001:470:1000::")]
    [InlineData("2001:0470:1f10:a1::2", "2001:470:1000::")]
    public void GroupKeyNonStrict(string ip, string expected) =>
        Assert.Equal(expected, AddrBook.GroupKey(Addr(_random, ip), strict: false));

    // The strict half of TestAddrBookGroupKey.
    [Theory]
    [InlineData("127.0.0.1", "local")]
    [InlineData("::1", "local")]
    [InlineData("0.0.0.0", "local")]
    [InlineData("0.1.2.3", "local")]
    [InlineData("255.255.255.255", "unroutable")]
    [InlineData("10.1.2.3", "unroutable")]
    [InlineData("172.16.1.2", "unroutable")]
    [InlineData("192.168.1.2", "unroutable")]
    [InlineData("2001:db8::1234", "unroutable")]
    [InlineData("169.254.1.2", "unroutable")]
    [InlineData("fc00::1234", "unroutable")]
    [InlineData("2001:10::1234", "unroutable")]
    [InlineData("fe80::1234", "unroutable")]
    [InlineData("12.1.2.3", "12.1.0.0")]
    [InlineData("2602:100::1", "2602:100::")]
    public void GroupKeyStrict(string ip, string expected) =>
        Assert.Equal(expected, AddrBook.GroupKey(Addr(_random, ip), strict: true));

    [Fact]
    public void SameAddressGroupAndSourceGroupGiveTheSameNewBucket()
    {
        var book = Book(_time);
        var buckets = new HashSet<int>();
        for (var i = 0; i < 200; i++)
            buckets.Add(book.CalcNewBucket(Addr(_random, $"31.7.{i}.{i % 250 + 1}"), Addr(_random, $"44.9.{i}.1", (ushort)i)));
        Assert.Single(buckets);
    }

    [Fact]
    public void OneSourceGroupReachesAtMost32NewBuckets()
    {
        var book = Book(_time);
        var buckets = new HashSet<int>();
        for (var i = 0; i < 5000; i++)
            buckets.Add(book.CalcNewBucket(Addr(_random, DistinctGroupIp(i)), Addr(_random, $"44.9.{i % 250}.{i % 200 + 1}")));
        Assert.InRange(buckets.Count, 20, AddrBook.NewBucketsPerGroup);
    }

    [Fact]
    public void OneGroupReachesAtMost4OldBuckets()
    {
        var book = Book(_time);
        var buckets = new HashSet<int>();
        for (var i = 0; i < 2000; i++)
            buckets.Add(book.CalcOldBucket(Addr(_random, $"31.7.{i % 250}.{i % 200 + 1}", (ushort)(1000 + i))));
        Assert.InRange(buckets.Count, 2, AddrBook.OldBucketsPerGroup);
    }

    [Fact]
    public void AnAddressSitsInAtMost4NewBuckets()
    {
        var book = Book(_time);
        var address = Addr(_random, "31.7.1.1");
        var results = new List<AddAddressResult>();
        for (var i = 0; i < 2000; i++) results.Add(book.AddAddress(address, Addr(_random, DistinctGroupIp(i))));
        var entry = book.GetEntry(address.Id)!;
        Assert.Equal(AddrBook.MaxNewBucketsPerAddress, entry.Buckets.Count);
        Assert.Equal(AddAddressResult.Added, results[0]);
        Assert.Equal(3, results.Count(r => r == AddAddressResult.AddedBucket));
        Assert.Equal(1, book.Size);
        Assert.Equal(address, entry.Address);
    }

    [Theory]
    [InlineData(10, 10)]
    [InlineData(100, 32)]
    [InlineData(1000, 230)]
    [InlineData(2000, 250)]
    public void SelectionSizes(int bookSize, int expected)
    {
        var book = Book(_time);
        Fill(book, _random, bookSize);
        Assert.Equal(bookSize, book.Size);
        Assert.Equal(expected, AddrBook.SelectionSize(bookSize));
        var selection = book.GetSelection();
        Assert.Equal(expected, selection.Count);
        Assert.Equal(expected, selection.Select(a => a.Id).Distinct().Count());
        Assert.Equal(bookSize < AddrBook.NeedAddressThreshold, book.NeedMoreAddrs());
    }

    [Fact]
    public void EmptyBook()
    {
        var book = Book(_time);
        Assert.True(book.Empty);
        Assert.Empty(book.GetSelection());
        Assert.Empty(book.GetSelectionWithBias(30));
        Assert.Null(book.PickAddress(50));
        Assert.True(book.NeedMoreAddrs());
    }

    [Fact]
    public void SelectionWithBiasTakesTheRequiredShareOfNewAddresses()
    {
        var book = Book(_time);
        var all = Fill(book, _random, 200);
        foreach (var a in all.Take(100)) book.MarkGood(a.Id);
        Assert.Equal((100, 100), (book.NumNew, book.NumOld));
        var n = AddrBook.SelectionSize(200);
        Assert.Equal(46, n);
        var oldIds = all.Take(100).Select(a => a.Id).ToHashSet();

        var biased = book.GetSelectionWithBias(30);
        Assert.Equal(n, biased.Count);
        Assert.Equal(14, biased.Count(a => !oldIds.Contains(a.Id))); // round(0.3 × 46)
        Assert.Equal(n, biased.Select(a => a.Id).Distinct().Count());
        Assert.Equal(n, book.GetSelectionWithBias(100).Count(a => !oldIds.Contains(a.Id)));
        Assert.Equal(0, book.GetSelectionWithBias(0).Count(a => !oldIds.Contains(a.Id)));
    }

    [Fact]
    public void SelectionWithBiasFillsWithNewAddressesWhenOldOnesAreFew()
    {
        var book = Book(_time);
        var all = Fill(book, _random, 200);
        foreach (var a in all.Take(10)) book.MarkGood(a.Id);
        var oldIds = all.Take(10).Select(a => a.Id).ToHashSet();
        var biased = book.GetSelectionWithBias(30);
        Assert.Equal(46, biased.Count);
        Assert.Equal(36, biased.Count(a => !oldIds.Contains(a.Id))); // max(14, 46 − 10)
    }

    [Fact]
    public void PickAddressHonoursTheBias()
    {
        var book = Book(_time);
        var all = Fill(book, _random, 50);
        // Only new entries and bias 0: both weights are 0, and CometBFT's draw then takes the new table.
        Assert.Contains(book.PickAddress(0), all);
        for (var i = 0; i < 50; i++) Assert.Contains(book.PickAddress(100), all);
        foreach (var a in all) book.MarkGood(a.Id);
        Assert.Null(book.PickAddress(100)); // only old entries: bias 100 draws the empty new table
        Assert.Contains(book.PickAddress(0), all);
        Assert.Contains(book.PickAddress(50), all);
    }

    [Fact]
    public void AddAddressRefusals()
    {
        var book = Book(_time);
        var src = Addr(_random, "44.1.1.1");
        Assert.Equal(AddAddressResult.Invalid, book.AddAddress(new NetAddress(default, IPAddress.Parse("31.1.1.1"), 1), src));
        Assert.Equal(AddAddressResult.Invalid, book.AddAddress(Addr(_random, "0.0.0.0"), src));
        Assert.Equal(AddAddressResult.Invalid, book.AddAddress(Addr(_random, "2001:db8::1"), src));
        Assert.Equal(AddAddressResult.NotRoutable, book.AddAddress(Addr(_random, "10.0.0.1"), src));
        Assert.Equal(AddAddressResult.NotRoutable, book.AddAddress(Addr(_random, "127.0.0.1"), src));

        var ours = Addr(_random, "31.2.2.2");
        book.AddOurAddress(ours);
        Assert.Equal(AddAddressResult.Self, book.AddAddress(ours, src));
        Assert.Equal(AddAddressResult.Self, book.AddAddress(ours with { Ip = IPAddress.Parse("31.3.3.3") }, src));

        var priv = Addr(_random, "31.4.4.4");
        book.AddPrivateIds([priv.Id]);
        Assert.Equal(AddAddressResult.Private, book.AddAddress(priv, src));
        Assert.Equal(AddAddressResult.PrivateSource, book.AddAddress(Addr(_random, "31.5.5.5"), priv));
        Assert.True(book.Empty);

        var nonStrict = Book(_time, configure: o => o with { Strict = false });
        Assert.Equal(AddAddressResult.Added, nonStrict.AddAddress(Addr(_random, "127.0.0.1"), src));
    }

    [Fact]
    public void AProvenPeerCannotBeMovedToAnotherIp()
    {
        var book = Book(_time);
        var good = Addr(_random, "31.1.1.1");
        book.AddAddress(good, Addr(_random, "44.1.1.1"));
        book.MarkGood(good.Id);
        Assert.Equal(BucketType.Old, book.GetEntry(good.Id)!.Type);
        Assert.Equal(AddAddressResult.AlreadyKnown, book.AddAddress(good with { Ip = IPAddress.Parse("66.6.6.6") }, Addr(_random, "66.6.6.7")));
        Assert.Equal(good, book.GetEntry(good.Id)!.Address);
    }

    [Fact]
    public void MarkGoodAndMarkAttempt()
    {
        var book = Book(_time);
        var a = Fill(book, _random, 1)[0];
        book.MarkAttempt(a);
        book.MarkAttempt(a);
        Assert.Equal(2, book.GetEntry(a.Id)!.Attempts);
        _time.Advance(TimeSpan.FromMinutes(5));
        book.MarkGood(a.Id);
        var e = book.GetEntry(a.Id)!;
        Assert.Equal((0, BucketType.Old, _time.GetUtcNow(), _time.GetUtcNow()), (e.Attempts, e.Type, e.LastAttempt, e.LastSuccess));
        Assert.Single(e.Buckets);
        Assert.Equal((0, 1), (book.NumNew, book.NumOld));
    }

    [Fact]
    public void AFullOldBucketDemotesItsOldestEntryToTheNewTable()
    {
        var book = Book(_time, configure: o => o with { MaxIdsPerGroup = 0, MaxIdsPerIp = 0 });
        // Addresses of one group land in at most 4 old buckets: promote until one of them overflows.
        var promoted = new List<NetAddress>();
        for (var i = 0; i < 400; i++)
        {
            var a = Addr(_random, $"31.7.{i % 250}.{i / 250 + 1}");
            book.AddAddress(a, Addr(_random, DistinctGroupIp(i)));
            _time.Advance(TimeSpan.FromSeconds(1));
            book.MarkGood(a.Id);
            promoted.Add(a);
        }
        Assert.Equal(400, book.Size);
        Assert.InRange(book.NumOld, 4, 4 * (AddrBook.BucketSize + 1));
        Assert.Equal(400 - book.NumOld, book.NumNew);
        var demoted = book.GetEntries().Where(e => e.Type == BucketType.New).ToList();
        Assert.NotEmpty(demoted);
        Assert.All(demoted, e => Assert.NotEqual(DateTimeOffset.MinValue, e.LastSuccess));
    }

    [Fact]
    public void PerIpAndPerGroupCaps()
    {
        var book = Book(_time, configure: o => o with { MaxIdsPerIp = 4, MaxIdsPerGroup = 10 });
        for (var i = 0; i < 4; i++) Assert.Equal(AddAddressResult.Added, book.AddAddress(Addr(_random, "31.7.1.1"), Addr(_random, DistinctGroupIp(i))));
        Assert.Equal(AddAddressResult.IpLimit, book.AddAddress(Addr(_random, "31.7.1.1"), Addr(_random, DistinctGroupIp(9))));
        for (var i = 0; i < 6; i++) Assert.Equal(AddAddressResult.Added, book.AddAddress(Addr(_random, $"31.7.2.{i + 1}"), Addr(_random, DistinctGroupIp(i))));
        Assert.Equal(AddAddressResult.GroupLimit, book.AddAddress(Addr(_random, "31.7.3.3"), Addr(_random, DistinctGroupIp(20))));
        Assert.Equal(AddAddressResult.Added, book.AddAddress(Addr(_random, "31.8.3.3"), Addr(_random, DistinctGroupIp(20))));
        Assert.Equal(11, book.Size);

        // Removing an entry frees its place.
        var first = book.GetEntries().First(e => e.Address.Ip.Equals(IPAddress.Parse("31.7.1.1")));
        book.RemoveAddress(first.Address);
        Assert.Equal(AddAddressResult.Added, book.AddAddress(Addr(_random, "31.7.1.1"), Addr(_random, DistinctGroupIp(30))));

        // Local test networks (Strict off, everything on 127.0.0.1) are not capped.
        var local = Book(_time, configure: o => o with { Strict = false, MaxIdsPerIp = 2 });
        for (var i = 0; i < 20; i++) Assert.Equal(AddAddressResult.Added, local.AddAddress(Addr(_random, "127.0.0.1", (ushort)(26656 + i)), Addr(_random, "127.0.0.1")));
    }

    private (AddrBook Book, List<NetAddress> Full, Func<NetAddress> Next) FullBucket(bool testBeforeEvict)
    {
        var book = Book(_time, configure: o => o with { MaxIdsPerGroup = 0, MaxIdsPerIp = 0, TestBeforeEvict = testBeforeEvict });
        var source = Addr(_random, "44.4.4.4");
        var n = 0;
        NetAddress Next() { n++; return Addr(_random, $"31.7.{n / 250}.{n % 250 + 1}"); }
        var full = new List<NetAddress>();
        // Same address group + same source group → one bucket; 65 fit (CometBFT's "> 64 before insert").
        for (var i = 0; i < AddrBook.BucketSize + 1; i++)
        {
            var a = Next();
            Assert.Equal(AddAddressResult.Added, book.AddAddress(a, source));
            full.Add(a);
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Single(book.GetEntries().SelectMany(e => e.Buckets).Distinct());
        return (book, full, () => Next());
    }

    [Fact]
    public void WithoutTestBeforeEvictAFullBucketDropsItsOldestEntry()
    {
        var (book, full, next) = FullBucket(testBeforeEvict: false);
        var source = Addr(_random, "44.4.4.5");
        Assert.Equal(AddAddressResult.Added, book.AddAddress(next(), source));
        Assert.Equal(AddrBook.BucketSize + 1, book.Size);
        Assert.False(book.HasAddress(full[0].Id));
    }

    [Fact]
    public void TestBeforeEvictKeepsKnownEntriesAgainstANewcomer()
    {
        var (book, full, next) = FullBucket(testBeforeEvict: true);
        var source = Addr(_random, "44.4.4.5");
        var newcomer = next();
        Assert.Equal(AddAddressResult.BucketFull, book.AddAddress(newcomer, source));
        Assert.False(book.HasAddress(newcomer.Id));
        Assert.All(full, a => Assert.True(book.HasAddress(a.Id)));

        // A bad entry (3 failed attempts, never reached, not tried in the last minute) is replaced.
        var victim = full[10];
        for (var i = 0; i < 3; i++) book.MarkAttempt(victim);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(AddAddressResult.Added, book.AddAddress(newcomer, source));
        Assert.False(book.HasAddress(victim.Id));

        // A stale entry (never reached, last attempt older than StaleAfter) is replaced too.
        var another = next();
        Assert.Equal(AddAddressResult.BucketFull, book.AddAddress(another, source));
        _time.Advance(TimeSpan.FromHours(25));
        Assert.Equal(AddAddressResult.Added, book.AddAddress(another, source));
        Assert.Equal(AddrBook.BucketSize + 1, book.Size);
    }

    [Fact]
    public void IsBadRules()
    {
        var now = _time.GetUtcNow();
        KnownAddress Entry(int attempts, TimeSpan sinceAttempt, TimeSpan? sinceSuccess, BucketType type = BucketType.New) =>
            new(Addr(_random, "31.1.1.1"), Addr(_random, "44.1.1.1"))
            {
                Attempts = attempts,
                LastAttempt = now - sinceAttempt,
                LastSuccess = sinceSuccess is { } s ? now - s : DateTimeOffset.MinValue,
                Type = type,
            };
        Assert.False(Entry(100, TimeSpan.FromDays(30), null, BucketType.Old).IsBad(now));   // old: never bad
        Assert.False(Entry(100, TimeSpan.FromSeconds(30), null).IsBad(now));               // tried in the last minute
        Assert.True(Entry(0, TimeSpan.FromDays(8), TimeSpan.FromDays(8)).IsBad(now));      // not tried for > 7 days
        Assert.True(Entry(3, TimeSpan.FromMinutes(2), null).IsBad(now));                   // never reached, 3 attempts
        Assert.False(Entry(2, TimeSpan.FromMinutes(2), null).IsBad(now));
        Assert.True(Entry(10, TimeSpan.FromMinutes(2), TimeSpan.FromDays(8)).IsBad(now));  // no success in 7 days, 10 attempts
        Assert.False(Entry(9, TimeSpan.FromMinutes(2), TimeSpan.FromDays(8)).IsBad(now));
        Assert.False(Entry(10, TimeSpan.FromMinutes(2), TimeSpan.FromDays(1)).IsBad(now));
    }

    [Fact]
    public void BansRemoveExpireAndReinstate()
    {
        var book = Book(_time);
        var all = Fill(book, _random, 5);
        var bad = all[2];
        book.MarkBad(bad, TimeSpan.FromHours(24));
        Assert.False(book.HasAddress(bad.Id));
        Assert.True(book.IsBanned(bad.Id));
        Assert.Equal(4, book.Size);
        Assert.Equal(AddAddressResult.Banned, book.AddAddress(bad, Addr(_random, "44.1.1.1")));

        // A ban only ever grows.
        book.MarkBad(bad, TimeSpan.FromHours(1));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(24), book.GetEntry(bad.Id)!.BannedUntil);

        // An ID that was never in the book can be banned too (CometBFT ignores those); it expires without coming in.
        var stranger = Addr(_random, "55.5.5.5");
        book.MarkBad(stranger, TimeSpan.FromHours(1));
        Assert.Equal(AddAddressResult.Banned, book.AddAddress(stranger, Addr(_random, "44.1.1.1")));

        _time.Advance(TimeSpan.FromHours(23));
        book.ReinstateBadPeers();
        Assert.True(book.IsBanned(bad.Id));
        Assert.False(book.IsBanned(stranger.Id));
        Assert.False(book.HasAddress(stranger.Id));

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        book.ReinstateBadPeers();
        Assert.False(book.IsBanned(bad.Id));
        Assert.True(book.HasAddress(bad.Id));
        Assert.Equal(5, book.Size);
    }

    [Fact]
    public void BanListIsBounded()
    {
        var book = Book(_time, configure: o => o with { MaxBans = 10 });
        for (var i = 0; i < 50; i++) book.MarkBad(Addr(_random, DistinctGroupIp(i)), TimeSpan.FromHours(1 + i));
        Assert.Equal(10, book.NumBanned);
        Assert.All(book.GetBans(), b => Assert.True(b.BannedUntil >= _time.GetUtcNow() + TimeSpan.FromHours(41)));
    }

    [Fact]
    public async Task ConcurrentUseKeepsTheCountsConsistent()
    {
        var book = Book(_time, configure: o => o with { Random = new Random(7) });
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var r = new Random(t);
            for (var i = 0; i < 2000; i++)
            {
                var a = Addr(r, DistinctGroupIp(r.Next(3000)));
                book.AddAddress(a, Addr(r, DistinctGroupIp(r.Next(3000))));
                if (i % 7 == 0) book.MarkGood(a.Id);
                if (i % 11 == 0) book.MarkBad(a, TimeSpan.FromHours(1));
                book.PickAddress(r.Next(101));
                if (i % 50 == 0) book.GetSelection();
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var entries = book.GetEntries();
        Assert.Equal(book.Size, entries.Count);
        Assert.Equal(book.NumNew + book.NumOld, book.Size);
        Assert.Equal(book.NumNew, entries.Count(e => e.Type == BucketType.New));
        Assert.All(entries, e => Assert.InRange(e.Buckets.Count, 1, e.Type == BucketType.Old ? 1 : 4));
        await book.DisposeAsync();
    }
}
