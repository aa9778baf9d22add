using System.Net;
using System.Text;
using System.Text.Json;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Tests.Support;
using static Switchboard.Tests.Pex.PexTestKit;

namespace Switchboard.Tests.Pex;

/// <summary>addrbook.json (PROTOCOL.md 7.4): CometBFT's files load, ours are CometBFT's shape, bad files never crash.</summary>
public sealed class AddrBookFileTests : IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly Random _random = new(3);
    private readonly string _dir = TempDir();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string PathOf(string name = "addrbook.json") => Path.Combine(_dir, name);

    private AddrBook FileBook(string path, Func<AddrBookOptions, AddrBookOptions>? configure = null) =>
        Book(_time, configure: o => (configure ?? (x => x))(o with { FilePath = path }));

    // Written as CometBFT's encoding/json MarshalIndent(…, "", "\t") does on a host at UTC+2, with nanoseconds.
    private const string CometBftFile =
        "{\n" +
        "\t\"key\": \"b2a8e0f4c1d9e7a6b5c4d3e2\",\n" +
        "\t\"addrs\": [\n" +
        "\t\t{\n" +
        "\t\t\t\"addr\": {\n\t\t\t\t\"id\": \"56475aa75463474c0285df5dbf2bcab73da65135\",\n\t\t\t\t\"ip\": \"203.0.113.5\",\n\t\t\t\t\"port\": 26656\n\t\t\t},\n" +
        "\t\t\t\"src\": {\n\t\t\t\t\"id\": \"24f6ed6acbfe1009c030d7ca567c33ca48309114\",\n\t\t\t\t\"ip\": \"198.51.100.7\",\n\t\t\t\t\"port\": 26656\n\t\t\t},\n" +
        "\t\t\t\"buckets\": [\n\t\t\t\t19,\n\t\t\t\t201\n\t\t\t],\n" +
        "\t\t\t\"attempts\": 2,\n" +
        "\t\t\t\"bucket_type\": 1,\n" +
        "\t\t\t\"last_attempt\": \"2020-08-03T22:10:32.780030702+02:00\",\n" +
        "\t\t\t\"last_success\": \"0001-01-01T00:00:00Z\",\n" +
        "\t\t\t\"last_ban_time\": \"0001-01-01T00:00:00Z\"\n" +
        "\t\t},\n" +
        "\t\t{\n" +
        "\t\t\t\"addr\": {\n\t\t\t\t\"id\": \"519cae93e93ad011d785355894405ed8fa8162c6\",\n\t\t\t\t\"ip\": \"2602:100::7\",\n\t\t\t\t\"port\": 26657\n\t\t\t},\n" +
        "\t\t\t\"src\": {\n\t\t\t\t\"id\": \"519cae93e93ad011d785355894405ed8fa8162c6\",\n\t\t\t\t\"ip\": \"2602:100::7\",\n\t\t\t\t\"port\": 26657\n\t\t\t},\n" +
        "\t\t\t\"buckets\": [\n\t\t\t\t7\n\t\t\t],\n" +
        "\t\t\t\"attempts\": 0,\n" +
        "\t\t\t\"bucket_type\": 2,\n" +
        "\t\t\t\"last_attempt\": \"2024-02-29T23:59:59.5-05:30\",\n" +
        "\t\t\t\"last_success\": \"2024-02-29T23:59:59.5-05:30\",\n" +
        "\t\t\t\"last_ban_time\": \"0001-01-01T00:00:00Z\"\n" +
        "\t\t}\n" +
        "\t]\n" +
        "}\n";

    [Fact]
    public async Task LoadsAFileWrittenByCometBft()
    {
        var path = PathOf();
        File.WriteAllText(path, CometBftFile);
        var book = FileBook(path);
        var report = book.Start();
        Assert.Equal(new AddrBookLoadReport(AddrBookLoadStatus.Loaded, 2, 0, 0), report);
        Assert.Equal("b2a8e0f4c1d9e7a6b5c4d3e2", book.Key);
        Assert.Equal((1, 1), (book.NumNew, book.NumOld));

        var first = book.GetEntry(Switchboard.Crypto.NodeId.Parse("56475aa75463474c0285df5dbf2bcab73da65135"))!;
        Assert.Equal("56475aa75463474c0285df5dbf2bcab73da65135@203.0.113.5:26656", first.Address.ToString());
        Assert.Equal("24f6ed6acbfe1009c030d7ca567c33ca48309114@198.51.100.7:26656", first.Source.ToString());
        Assert.Equal([19, 201], first.Buckets);
        Assert.Equal(2, first.Attempts);
        // 22:10:32.780030702 at +02:00 = 20:10:32.7800307 UTC (.NET keeps 100 ns).
        Assert.Equal(new DateTimeOffset(2020, 8, 3, 20, 10, 32, TimeSpan.Zero).AddTicks(7_800_307), first.LastAttempt);
        Assert.Equal(DateTimeOffset.MinValue, first.LastSuccess);

        var second = book.GetEntry(Switchboard.Crypto.NodeId.Parse("519cae93e93ad011d785355894405ed8fa8162c6"))!;
        Assert.Equal(BucketType.Old, second.Type);
        Assert.Equal([7], second.Buckets);
        Assert.Equal(new DateTimeOffset(2024, 3, 1, 5, 29, 59, 500, TimeSpan.Zero), second.LastSuccess);
        await book.DisposeAsync();
    }

    [Fact]
    public async Task SavedFileHasCometBftsShapeAndRoundTrips()
    {
        var path = PathOf();
        var book = FileBook(path);
        book.Start();
        var all = Fill(book, _random, 30);
        _time.Advance(TimeSpan.FromSeconds(1.2345678));
        foreach (var a in all.Take(5)) book.MarkGood(a.Id);
        book.MarkAttempt(all[10]);
        book.MarkBad(all[20], TimeSpan.FromHours(24));
        book.MarkBad(Addr(_random, "77.7.7.7"), TimeSpan.FromHours(2));
        await book.StopAsync();

        var text = File.ReadAllText(path);
        Assert.StartsWith("{\n\t\"key\": \"" + book.Key + "\",\n\t\"addrs\": [\n\t\t{\n\t\t\t\"addr\": {\n\t\t\t\t\"id\": \"", text);
        Assert.DoesNotContain("  ", text);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
        using (var doc = JsonDocument.Parse(text))
        {
            // Exactly the fields and JSON types of CometBFT's addrBookJSON / knownAddress, which its loader needs.
            var root = doc.RootElement;
            Assert.Equal(["key", "addrs", "switchboard_bans"], root.EnumerateObject().Select(p => p.Name));
            var entries = root.GetProperty("addrs").EnumerateArray().ToList();
            Assert.Equal(29, entries.Count);
            foreach (var e in entries)
            {
                Assert.Equal(["addr", "src", "buckets", "attempts", "bucket_type", "last_attempt", "last_success", "last_ban_time"],
                    e.EnumerateObject().Select(p => p.Name));
                Assert.Equal(["id", "ip", "port"], e.GetProperty("addr").EnumerateObject().Select(p => p.Name));
                Assert.Equal(JsonValueKind.Number, e.GetProperty("addr").GetProperty("port").ValueKind);
                Assert.All(e.GetProperty("buckets").EnumerateArray(), b => Assert.InRange(b.GetInt32(), 0, 255));
                Assert.InRange(e.GetProperty("bucket_type").GetInt32(), 1, 2);
                Assert.Equal("0001-01-01T00:00:00Z", e.GetProperty("last_ban_time").GetString());
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$", e.GetProperty("last_attempt").GetString()!);
            }
            Assert.Equal(2, root.GetProperty("switchboard_bans").GetArrayLength());
        }
        Assert.Contains("\"last_attempt\": \"2026-01-01T00:00:01.2345678Z\"", text);

        var reloaded = FileBook(path);
        Assert.Equal(new AddrBookLoadReport(AddrBookLoadStatus.Loaded, 29, 0, 2), reloaded.Start());
        Assert.Equal(book.Key, reloaded.Key);
        Assert.Equal((book.NumNew, book.NumOld), (reloaded.NumNew, reloaded.NumOld));
        Assert.Equal(
            book.GetEntries().OrderBy(e => e.Address.Id.Value).Select(Describe),
            reloaded.GetEntries().OrderBy(e => e.Address.Id.Value).Select(Describe));
        Assert.True(reloaded.IsBanned(all[20].Id));
        Assert.Equal(AddAddressResult.Banned, reloaded.AddAddress(all[20], Addr(_random, "44.1.1.1")));

        // Bans survive the restart and expire on schedule: the one that was in the book comes back, the other not.
        _time.Advance(TimeSpan.FromHours(25));
        reloaded.ReinstateBadPeers();
        Assert.Equal(0, reloaded.NumBanned);
        Assert.True(reloaded.HasAddress(all[20].Id));
        Assert.Equal(30, reloaded.Size);
        await reloaded.DisposeAsync();

        static string Describe(AddrBookEntry e) =>
            $"{e.Address}|{e.Source}|{e.Type}|{string.Join(',', e.Buckets)}|{e.Attempts}|{e.LastAttempt.UtcTicks}|{e.LastSuccess.UtcTicks}";
    }

    [Fact]
    public async Task SavesPeriodicallyOnTheClock()
    {
        var path = PathOf();
        var book = FileBook(path);
        book.Start();
        Fill(book, _random, 3);
        Assert.False(File.Exists(path));
        await Eventually.TrueAsync(() => { _time.Advance(TimeSpan.FromSeconds(30)); return File.Exists(path); }, "saved within the 2 min interval");
        Assert.True(_time.GetUtcNow() - new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) >= TimeSpan.FromMinutes(2));
        var loaded = FileBook(path);
        Assert.Equal(3, loaded.Start().Loaded);
        await book.DisposeAsync();
        await loaded.DisposeAsync();
    }

    [Fact]
    public async Task AFileTruncatedAtAnyByteIsRejectedAndMovedAside()
    {
        var full = Encoding.UTF8.GetBytes(CometBftFile);
        var path = PathOf();
        for (var length = 0; length < full.Length; length++)
        {
            File.WriteAllBytes(path, full[..length]);
            var book = FileBook(path);
            var report = book.Start();
            var onlyWhitespaceCut = CometBftFile[..length].TrimEnd() == CometBftFile.TrimEnd();
            if (onlyWhitespaceCut)
            {
                Assert.Equal(AddrBookLoadStatus.Loaded, report.Status);
                File.Delete(path);
            }
            else
            {
                Assert.True(report.Status == AddrBookLoadStatus.Corrupt, $"prefix of {length} bytes: {report}");
                Assert.NotNull(report.Error);
                Assert.False(File.Exists(path));
                Assert.Equal(full[..length], File.ReadAllBytes(report.MovedTo!));
                File.Delete(report.MovedTo!);
                Assert.True(book.Empty);
            }
            await book.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"addrbook\"")]
    [InlineData("{\"addrs\": 5}")]
    [InlineData("{\"key\": 12, \"addrs\": []}")]
    [InlineData("{\"addrs\": [] } trailing")]
    [InlineData("\u0000\u0001\u00ff garbage")]
    public async Task GarbageIsCorrupt(string content)
    {
        var path = PathOf();
        File.WriteAllText(path, content);
        var book = FileBook(path);
        var report = book.Start();
        Assert.Equal(AddrBookLoadStatus.Corrupt, report.Status);
        Assert.IsType<AddrBookFormatException>(report.Error);
        Assert.StartsWith(path + ".corrupt-20260101T000000000Z", report.MovedTo);
        Assert.True(File.Exists(report.MovedTo));
        // The node goes on with an empty book and saves a fresh file.
        Fill(book, _random, 2);
        await book.StopAsync();
        Assert.Equal(2, FileBook(path).Start().Loaded);
    }

    [Fact]
    public void RandomBytesAndDeepNestingAreCorrupt()
    {
        var path = PathOf();
        var bytes = new byte[5000];
        _random.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        Assert.Equal(AddrBookLoadStatus.Corrupt, FileBook(path).Start().Status);
        File.WriteAllText(path, "{\"addrs\":" + new string('[', 10_000) + new string(']', 10_000) + "}");
        Assert.Equal(AddrBookLoadStatus.Corrupt, FileBook(path).Start().Status);
        Assert.Equal(2, Directory.GetFiles(_dir, "addrbook.json.corrupt-*").Length);
    }

    [Fact]
    public void AFileAboveTheSizeLimitIsNotRead()
    {
        var path = PathOf();
        File.WriteAllText(path, CometBftFile);
        var report = FileBook(path, o => o with { MaxFileBytes = 512 }).Start();
        Assert.Equal(AddrBookLoadStatus.Corrupt, report.Status);
        Assert.Contains("above the limit", report.Error!.Message);
    }

    [Fact]
    public void BadEntriesAreSkippedNotFatal()
    {
        string Entry(string id, string ip, string buckets = "[1]", int type = 1, int port = 26656, string attempt = "\"2020-01-01T00:00:00Z\"") =>
            $"{{\"addr\":{{\"id\":\"{id}\",\"ip\":\"{ip}\",\"port\":{port}}},\"src\":{{\"id\":\"{id}\",\"ip\":\"{ip}\",\"port\":{port}}}," +
            $"\"buckets\":{buckets},\"attempts\":0,\"bucket_type\":{type},\"last_attempt\":{attempt}," +
            "\"last_success\":\"0001-01-01T00:00:00Z\",\"last_ban_time\":\"0001-01-01T00:00:00Z\",\"unknown_field\":[1,{}]}";
        var ids = Enumerable.Range(0, 12).Select(_ => RandomId(_random).Value).ToArray();
        var entries = new[]
        {
            Entry(ids[0], "31.1.1.1"),                                  // fine
            Entry(ids[1], "31.2.1.1", buckets: "[300]"),                // bad index: placed by hash instead
            Entry(ids[2], "31.3.1.1", buckets: "null"),                 // no buckets: placed by hash
            Entry("zz", "31.4.1.1"),                                    // bad ID
            Entry(ids[4], "x"),                                         // bad IP
            Entry(ids[5], "31.6.1.1", port: 70000),                     // bad port
            Entry(ids[6], "10.0.0.1"),                                  // not routable (strict)
            Entry(ids[7], "31.8.1.1", type: 3),                         // unknown bucket type
            Entry(ids[8], "31.9.1.1", attempt: "\"yesterday\""),        // bad time
            Entry(ids[0], "31.10.1.1"),                                 // duplicate ID
            Entry(ids[10], "31.11.1.1", type: 2, buckets: "[64]"),      // old bucket out of range
            Entry(ids[11], "31.12.1.1", buckets: "[1,2,3,4,5]"),        // more than 4 buckets
            "42",
        };
        var path = PathOf();
        File.WriteAllText(path, "{\"KEY\":\"00112233445566778899aabb\",\"addrs\":[" + string.Join(",", entries) + "]}");
        var book = FileBook(path);
        Assert.Equal(new AddrBookLoadReport(AddrBookLoadStatus.Loaded, 3, 10, 0), book.Start());
        Assert.Equal("00112233445566778899aabb", book.Key); // Go matches field names case-insensitively
        Assert.Equal(3, book.Size);
    }

    [Fact]
    public void EntryCountIsBoundedBeforeItIsTrusted()
    {
        var path = PathOf();
        var source = FileBook(path);
        source.Start();
        Fill(source, _random, 50);
        source.Save();
        var book = FileBook(path, o => o with { MaxFileEntries = 20 });
        Assert.Equal(new AddrBookLoadReport(AddrBookLoadStatus.Loaded, 20, 30, 0), book.Start());
    }

    [Fact]
    public void CapsApplyToLoadedEntries()
    {
        var path = PathOf();
        var source = FileBook(path, o => o with { MaxIdsPerIp = 0 });
        source.Start();
        for (var i = 0; i < 10; i++) source.AddAddress(Addr(_random, "31.1.1.1", (ushort)(100 + i)), Addr(_random, DistinctGroupIp(i)));
        source.Save();
        var book = FileBook(path, o => o with { MaxIdsPerIp = 4 });
        Assert.Equal(new AddrBookLoadReport(AddrBookLoadStatus.Loaded, 4, 6, 0), book.Start());
    }

    [Theory]
    [InlineData("2020-08-03T22:10:32.780030702Z", "2020-08-03T22:10:32.7800307Z")]
    [InlineData("2020-08-03T22:10:32Z", "2020-08-03T22:10:32.0000000Z")]
    [InlineData("2020-08-04T00:10:32.78+02:00", "2020-08-03T22:10:32.7800000Z")]
    [InlineData("2020-08-03T19:40:32.1-02:30", "2020-08-03T22:10:32.1000000Z")]
    [InlineData("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.0000000Z")]
    [InlineData("0001-01-01T00:00:00+02:00", "0001-01-01T00:00:00.0000000Z")]
    public void ParsesGoTimes(string text, string utc)
    {
        Assert.True(GoTime.TryParse(text, out var t, out _));
        Assert.Equal(utc, t.UtcDateTime.ToString("o"));
    }

    [Theory]
    [InlineData("2020-08-03 22:10:32Z")]
    [InlineData("2020-08-03T22:10:32")]
    [InlineData("2020-02-30T00:00:00Z")]
    [InlineData("2020-08-03T24:00:00Z")]
    [InlineData("2020-08-03T22:10:60Z")]
    [InlineData("2020-08-03T22:10:32.Z")]
    [InlineData("2020-08-03T22:10:32+0200")]
    [InlineData("2020-08-03T22:10:32z")]
    [InlineData("")]
    public void RejectsMalformedTimes(string text) => Assert.False(GoTime.TryParse(text, out _, out _));

    [Fact]
    public void FormatsGoTimes()
    {
        Assert.Equal("0001-01-01T00:00:00Z", GoTime.Format(DateTimeOffset.MinValue));
        Assert.Equal("2020-08-03T20:10:32.78Z", GoTime.Format(new DateTimeOffset(2020, 8, 3, 22, 10, 32, 780, TimeSpan.FromHours(2))));
        Assert.Equal("2020-08-03T20:10:32Z", GoTime.Format(new DateTimeOffset(2020, 8, 3, 20, 10, 32, TimeSpan.Zero)));
    }

    [Fact]
    public async Task AMemoryOnlyBookNeverTouchesTheDisk()
    {
        var book = Book(_time);
        Assert.Equal(AddrBookLoadStatus.NoFile, book.Start().Status);
        Fill(book, _random, 3);
        book.Save();
        await book.DisposeAsync();
        Assert.Empty(Directory.GetFiles(_dir));
        Assert.Equal(AddrBookLoadStatus.NoFile, FileBook(PathOf("missing.json")).Start().Status);
    }

    [Fact]
    public void OwnAddressAndPrivateIdsAreDroppedWhenTheyAppear()
    {
        var book = Book(_time);
        var all = Fill(book, _random, 3);
        book.AddOurAddress(all[0]);
        book.AddPrivateIds([all[1].Id]);
        Assert.Equal(1, book.Size);
        Assert.True(book.IsOurAddress(all[0] with { Ip = IPAddress.Parse("1.2.3.4") }));
    }
}
