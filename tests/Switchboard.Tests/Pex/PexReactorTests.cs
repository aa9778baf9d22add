using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Tests.Integration;
using Switchboard.Tests.Support;
using static Switchboard.Tests.Pex.PexTestKit;

namespace Switchboard.Tests.Pex;

/// <summary>PEX reactor rules of PROTOCOL.md 6 over real (in-memory) connections, time driven by hand.</summary>
public sealed class PexReactorTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly MemoryKind _kind = new();
    private readonly Random _random = new(5);

    [Fact]
    public void MessagesMatchThePexVectorsByteForByte()
    {
        using var doc = Vectors.Json("pex.json");
        var count = 0;
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            var bytes = Vectors.Hex(v.GetProperty("message_hex").GetString()!);
            var decoded = PexMessages.Decode(bytes);
            if (v.GetProperty("name").GetString() == "pex_request")
            {
                Assert.Null(decoded);
                Assert.Equal(bytes, PexMessages.EncodeRequest());
                count++;
                continue;
            }
            Assert.NotNull(decoded);
            var expected = v.GetProperty("addrs").ValueKind == System.Text.Json.JsonValueKind.Array
                ? v.GetProperty("addrs").EnumerateArray().ToList() : [];
            Assert.Equal(expected.Count, decoded.Count);
            var addresses = new List<NetAddress>();
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.True(NetAddress.TryFromProto(decoded[i], out var a, out _));
                Assert.Equal(expected[i].GetProperty("id").GetString(), a.Id.Value);
                Assert.Equal(expected[i].GetProperty("ip").GetString(), a.Ip.ToString());
                Assert.Equal(expected[i].GetProperty("port").GetInt32(), a.Port);
                Assert.Equal(expected[i].GetProperty("net_address_proto_hex").GetString(), Vectors.ToHex(a.EncodeProto()));
                addresses.Add(a);
            }
            Assert.Equal(bytes, PexMessages.EncodeAddrs(addresses));
            count++;
        }
        Assert.Equal(5, count);
        // PROTOCOL.md 6.1's repository vector.
        var repo = Vectors.Hex("12130a110a013112093132372e302e302e31188247");
        var one = Assert.Single(PexMessages.Decode(repo)!);
        Assert.Equal(("1", "127.0.0.1", 9090u), (one.Id, one.Ip, one.Port));
    }

    [Fact]
    public void UndecodableMessagesAreProtocolViolations()
    {
        Assert.Equal(ProtocolViolation.InvalidChannelMessage, Assert.Throws<ProtocolViolationException>(() => PexMessages.Decode(new byte[] { 0x0a, 0x05, 0x01 })).Violation);
        Assert.Equal(ProtocolViolation.UnknownMessageType, Assert.Throws<ProtocolViolationException>(() => PexMessages.Decode(ReadOnlyMemory<byte>.Empty)).Violation);
    }

    private async Task<(PexNode A, RawPexNode B, IPeer PeerOfB)> InboundRawAsync(Func<PexReactorOptions, PexReactorOptions>? pex = null)
    {
        var a = await PexNode.StartAsync(_kind, _time, pex: pex);
        // A's first ensure-peers round runs right after start and, having no outbound peer, asks any peer it has:
        // let it finish first, or on a loaded machine it could reach B and make B's addresses solicited.
        await Eventually.TrueAsync(() => a.Pex.GetStats().EnsureRounds >= 1 && a.Pex.PendingDials == 0, "a's first round ran");
        Fill(a.Book, _random, 40);
        var b = await RawPexNode.StartAsync(_kind);
        var peer = await b.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 1, "a sees b");
        return (a, b, peer);
    }

    [Fact]
    public async Task RequestsAt0And1And2SecondsCostTheConnectionAndABan()
    {
        var (a, b, peer) = await InboundRawAsync();
        await using var _ = a;
        await using var __ = b;
        Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Request));
        Assert.Equal(32, (await b.NextAddrsAsync()).Count);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Request));
        await b.NextAddrsAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Request));

        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0 && b.Switch.Peers.Count == 0, "b disconnected");
        Assert.True(a.Book.IsBanned(b.Id));
        Assert.Equal(1, a.Pex.GetStats().PeersPunished);
        Assert.Equal(3, a.Pex.GetStats().RequestsReceived);
    }

    [Fact]
    public async Task RequestsAt0And1And12SecondsAreFine()
    {
        var (a, b, peer) = await InboundRawAsync();
        await using var _ = a;
        await using var __ = b;
        foreach (var step in new[] { 0, 1, 11 })
        {
            _time.Advance(TimeSpan.FromSeconds(step));
            Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Request));
            Assert.Equal(32, (await b.NextAddrsAsync()).Count);
        }
        Assert.Single(a.Switch.Peers);
        Assert.False(a.Book.IsBanned(b.Id));

        // Slack: 9.5 s after the previous still passes (honest drift, cometbft/cometbft#4620); 1 s later does not.
        _time.Advance(TimeSpan.FromSeconds(9.5));
        Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Request));
        await b.NextAddrsAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Request));
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0, "b disconnected");
        Assert.True(a.Book.IsBanned(b.Id));
    }

    [Fact]
    public async Task UnsolicitedAddrsCostTheConnectionAndABan()
    {
        var (a, b, peer) = await InboundRawAsync();
        await using var _ = a;
        await using var __ = b;
        var offered = Addr(_random, "31.9.9.9");
        Assert.True(await b.Channel.SendAsync(peer, RawPexNode.Addrs(offered)));
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0, "b disconnected");
        Assert.True(a.Book.IsBanned(b.Id));
        Assert.False(a.Book.HasAddress(offered.Id));
    }

    /// <summary>A dials B, so A asks B for addresses (its book is below 1000) and B answers with <paramref name="answer"/>.</summary>
    private async Task<(PexNode A, RawPexNode B)> AnswerRequestAsync(Func<RawPexNode, byte[]> answer, Func<SwitchOptions, SwitchOptions>? sw = null)
    {
        var a = await PexNode.StartAsync(_kind, _time, sw: sw);
        var b = await RawPexNode.StartAsync(_kind);
        var toB = await a.Switch.DialPeerAsync(b.Address);
        Assert.Null(await b.NextAsync()); // A's PexRequest
        var peerA = b.Switch.GetPeer(a.Id)!;
        Assert.True(await b.Channel.SendAsync(peerA, answer(b)));
        return (a, b);
    }

    [Theory]
    [InlineData("x", 26656u)]
    [InlineData("1.2.3.4", 65536u)]
    public async Task InvalidAddressesCostTheConnectionAndABan(string ip, uint port)
    {
        var (a, b) = await AnswerRequestAsync(_ => RawPexNode.AddrsRaw(RandomId(_random).Value, ip, port));
        await using var _ = a;
        await using var __ = b;
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0, "b disconnected");
        Assert.True(a.Book.IsBanned(b.Id));
        Assert.Equal(1, a.Pex.GetStats().PeersPunished);
    }

    [Fact]
    public async Task SolicitedAddrsAreAddedOnceAndASecondAnswerIsUnsolicited()
    {
        var offered = Enumerable.Range(0, 5).Select(i => Addr(_random, DistinctGroupIp(i))).ToArray();
        var (a, b) = await AnswerRequestAsync(_ => RawPexNode.Addrs(offered));
        await using var _ = a;
        await using var __ = b;
        await Eventually.TrueAsync(() => offered.All(o => a.Book.HasAddress(o.Id)), "addresses added");
        var entry = a.Book.GetEntry(offered[0].Id)!;
        Assert.Equal(b.Id, entry.Source.Id);
        Assert.Equal(1, a.Pex.GetStats().AddrsReceived);
        Assert.Equal(5, a.Pex.GetStats().AddressesAdded);
        Assert.Single(a.Switch.Peers);

        Assert.True(await b.Channel.SendAsync(b.Switch.GetPeer(a.Id)!, RawPexNode.Addrs(Addr(_random, "31.1.2.3"))));
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0, "second answer punished");
        Assert.True(a.Book.IsBanned(b.Id));
    }

    [Fact]
    public async Task TooManyAddressesInOneAnswerIsAbuse()
    {
        var offered = Enumerable.Range(0, 251).Select(i => Addr(_random, DistinctGroupIp(i))).ToArray();
        var (a, b) = await AnswerRequestAsync(_ => RawPexNode.Addrs(offered));
        await using var _ = a;
        await using var __ = b;
        await Eventually.TrueAsync(() => a.Switch.Peers.Count == 0, "b disconnected");
        Assert.True(a.Book.IsBanned(b.Id));
        Assert.Equal(0, a.Book.Size);
    }

    [Fact]
    public async Task WeNeverAskOnePeerTwiceWithin30Seconds()
    {
        var a = await PexNode.StartAsync(_kind, _time);
        await using var _ = a;
        await using var b = await RawPexNode.StartAsync(_kind);
        var toB = await a.Switch.DialPeerAsync(b.Address);
        Assert.Null(await b.NextAsync());
        var peerA = b.Switch.GetPeer(a.Id)!;
        Assert.True(await b.Channel.SendAsync(peerA, RawPexNode.Addrs()));
        await Eventually.TrueAsync(() => a.Pex.GetStats().AddrsReceived == 1, "answer processed");
        // Not outstanding any more, but too soon for another request; reconnecting does not reset that.
        Assert.False(a.Pex.RequestAddrs(toB));
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(a.Pex.RequestAddrs(toB));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(a.Pex.RequestAddrs(toB));
        Assert.Null(await b.NextAsync());
        // At most one outstanding request per peer.
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.False(a.Pex.RequestAddrs(toB));
    }

    [Fact]
    public async Task SeedAnswersOnceThenClosesAfterFlushing()
    {
        var seed = await PexNode.StartAsync(_kind, _time, pex: o => o with { SeedMode = true });
        await using var _ = seed;
        Fill(seed.Book, _random, 100);
        await using var b = await RawPexNode.StartAsync(_kind);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = b.Switch.WatchPeersAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var peer = await b.Switch.DialPeerAsync(seed.Address);
        Assert.True(await events.MoveNextAsync());
        Assert.IsType<PeerAdded>(events.Current);
        await Eventually.TrueAsync(() => seed.Book.HasAddress(b.Id), "the seed stores an inbound peer's own address");

        // Two requests at once: the second is ignored, not punished. (On a loaded machine this thread can be preempted
        // between the two sends long enough for the seed to answer the first and hang up; then the second cannot be
        // queued, and only the answer-once part is checked.)
        Assert.True(b.Channel.TrySend(peer, RawPexNode.Request));
        var secondQueued = b.Channel.TrySend(peer, RawPexNode.Request);
        var answer = await b.NextAddrsAsync();
        Assert.Equal(AddrBook.SelectionSize(101), answer.Count);
        Assert.True(await events.MoveNextAsync());
        var removed = Assert.IsType<PeerRemoved>(events.Current);
        Assert.True(removed.Reason.ByRemote);
        await Eventually.TrueAsync(() => seed.Switch.Peers.Count == 0, "the seed hung up");
        Assert.InRange(seed.Pex.GetStats().RequestsReceived, 1, secondQueued ? 2 : 1);
        Assert.Equal(1, seed.Pex.GetStats().SeedAnswers);
        Assert.Equal(0, seed.Pex.GetStats().PeersPunished);
        Assert.False(seed.Book.IsBanned(b.Id));
    }

    [Fact]
    public async Task PrivatePeersAreNeverGossipedNorTheirAddresses()
    {
        var priv = await RawPexNode.StartAsync(_kind);
        await using var _p = priv;
        var a = await PexNode.StartAsync(_kind, _time, sw: o => o with { PrivatePeerIds = [priv.Id] });
        await using var _a = a;
        Fill(a.Book, _random, 20);

        // The private peer connects in (its own address is not stored) and, asked by A, tells A about others.
        var toPriv = await a.Switch.DialPeerAsync(priv.Address);
        Assert.Null(await priv.NextAsync());
        var learned = Addr(_random, "31.44.4.4");
        Assert.True(await priv.Channel.SendAsync(priv.Switch.GetPeer(a.Id)!, RawPexNode.Addrs(learned)));
        await Eventually.TrueAsync(() => a.Pex.GetStats().AddrsReceived == 1, "answer processed");
        Assert.False(a.Book.HasAddress(learned.Id));
        Assert.False(a.Book.HasAddress(priv.Id));

        await using var q = await RawPexNode.StartAsync(_kind);
        var peer = await q.Switch.DialPeerAsync(a.Address);
        Assert.True(await q.Channel.SendAsync(peer, RawPexNode.Request));
        var answer = await q.NextAddrsAsync();
        Assert.Equal(21, answer.Count); // the 20 filled + q itself (an inbound peer's own address)
        Assert.DoesNotContain(answer, x => x.Id == priv.Id.Value || x.Id == learned.Id.Value);
    }

    [Fact]
    public async Task MarkPeerAsGoodMovesThePeerToTheOldTable()
    {
        var a = await PexNode.StartAsync(_kind, _time);
        await using var _ = a;
        await using var b = await RawPexNode.StartAsync(_kind);
        await b.Switch.DialPeerAsync(a.Address);
        await Eventually.TrueAsync(() => a.Book.HasAddress(b.Id), "inbound peer's address stored");
        Assert.Equal(BucketType.New, a.Book.GetEntry(b.Id)!.Type);
        a.Switch.MarkPeerAsGood(a.Switch.GetPeer(b.Id)!);
        Assert.Equal(BucketType.Old, a.Book.GetEntry(b.Id)!.Type);
    }

    [Fact]
    public async Task DialsBackOffExponentiallyThenBanTheAddress()
    {
        var a = await PexNode.StartAsync(_kind, _time, pex: o => o with { MaxDialAttempts = 3 });
        await using var _ = a;
        var dead = Addr(_random, "31.5.5.5"); // nothing listens there
        await Eventually.TrueAsync(() => a.Pex.GetStats().EnsureRounds == 1, "the immediate first round ran on an empty book");
        a.Book.AddAddress(dead, Addr(_random, "44.4.4.4"));
        var timeline = new List<(int Second, long Failed)>();
        for (var second = 0; second <= 300 && !a.Book.IsBanned(dead.Id); second += 30)
        {
            if (second > 0) _time.Advance(TimeSpan.FromSeconds(30));
            var round = second / 30 + 1;
            await Eventually.TrueAsync(() => a.Pex.GetStats().EnsureRounds == round && a.Pex.PendingDials == 0, "round settled");
            timeline.Add((second, a.Pex.GetStats().DialsFailed));
        }
        // The first round (t = 0) found an empty book. Attempts at 30, 60, 90, 120 s (backoffs of 2, 4, 8 s + jitter
        // fit in a period); the next pick (4 failed attempts > MaxDialAttempts 3) bans the address instead.
        Assert.Equal([(0, 0), (30, 1), (60, 2), (90, 3), (120, 4), (150, 4)], timeline);
        Assert.True(a.Book.IsBanned(dead.Id));
        Assert.Equal(4, a.Book.GetEntry(dead.Id)!.Attempts);
    }

    [Fact]
    public async Task PersistentPeersAreAddedToTheBookAtStart()
    {
        var persistent = new DialAddress(RandomId(_random), "31.6.6.6", 26656);
        var a = await PexNode.StartAsync(_kind, _time, sw: o => o with { PersistentPeers = [persistent] });
        await using var _ = a;
        Assert.True(a.Book.HasAddress(persistent.Id));
        Assert.Equal(a.Id, a.Book.GetEntry(persistent.Id)!.Source.Id);
        Assert.True(a.Book.IsOurAddress(a.Address));
    }

    [Fact]
    public void OptionsValidate()
    {
        new PexReactorOptions().Validate();
        Assert.Throws<ArgumentException>(() => new PexReactorOptions { MinRequestInterval = TimeSpan.FromSeconds(5) }.Validate());
        Assert.Throws<ArgumentException>(() => new PexReactorOptions { RequestIntervalSlack = TimeSpan.FromSeconds(10) }.Validate());
        Assert.Throws<ArgumentException>(() => new PexReactorOptions { SeedBiasTowardsNew = 101 }.Validate());
        Assert.Throws<ArgumentException>(() => new AddrBookOptions { MaxIdsPerIp = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new AddrBookOptions { FilePath = "" }.Validate());
    }
}
