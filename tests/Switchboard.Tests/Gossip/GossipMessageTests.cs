using Switchboard.Crypto;
using Switchboard.Gossip;

namespace Switchboard.Tests.Gossip;

public sealed class GossipMessageTests
{
    private static readonly NodeId Origin = NodeKey.Generate().Id;

    [Fact]
    public void RoundTripsTheOriginPartAndTheHopHeader()
    {
        var sentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        var m = GossipMessage.Create(Origin, epoch: 42, sequence: 7, sentAt, "hello"u8).Stamp(linkId: 0xABCDEF, linkSequence: 3);

        Assert.Equal(GossipMessage.ReadResult.Ok, GossipMessage.TryRead(m.Bytes.Span, out var read));
        Assert.Equal(Origin, read.Origin);
        Assert.Equal(42UL, read.Epoch);
        Assert.Equal(7UL, read.Sequence);
        Assert.Equal(sentAt, read.SentAt);
        Assert.Equal(0xABCDEFUL, read.LinkId);
        Assert.Equal(3UL, read.LinkSequence);
        Assert.Equal("hello"u8.ToArray(), read.Payload.ToArray());
        Assert.Equal(GossipMessage.Overhead + 5, m.Bytes.Length);
    }

    [Fact]
    public void AnyFlippedBitIsCorruptedAndAWrongShapeIsMalformed()
    {
        var bytes = GossipMessage.Create(Origin, 1, 2, DateTimeOffset.UnixEpoch, new byte[16]).Stamp(9, 0).Bytes.ToArray();
        for (var i = 1; i < bytes.Length; i++)
        {
            if (i is 61 or 62) continue; // the length field: a changed length is malformed, below
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x10;
            Assert.Equal(GossipMessage.ReadResult.Corrupted, GossipMessage.TryRead(copy, out _));
        }
        var badLength = (byte[])bytes.Clone();
        badLength[62] ^= 1;
        Assert.Equal(GossipMessage.ReadResult.Malformed, GossipMessage.TryRead(badLength, out _));
        var badVersion = (byte[])bytes.Clone();
        badVersion[0] = 2;
        Assert.Equal(GossipMessage.ReadResult.Malformed, GossipMessage.TryRead(badVersion, out _));
        Assert.Equal(GossipMessage.ReadResult.Malformed, GossipMessage.TryRead(bytes.AsSpan(0, GossipMessage.Overhead - 1), out _));
    }

    [Fact]
    public void StampingACopyLeavesTheOriginalAlone()
    {
        var m = GossipMessage.Create(Origin, 1, 2, DateTimeOffset.UnixEpoch, []);
        var a = m.Stamp(1, 10);
        var b = m.Stamp(2, 20);
        Assert.Equal(0UL, m.LinkId);
        Assert.Equal((1UL, 10UL), (a.LinkId, a.LinkSequence));
        Assert.Equal((2UL, 20UL), (b.LinkId, b.LinkSequence));
        Assert.Equal(GossipMessage.ReadResult.Ok, GossipMessage.TryRead(a.Bytes.Span, out _));
    }
}

public sealed class SequenceSetTests
{
    [Fact]
    public void CountsDistinctNumbersAndTheGapsBetweenThem()
    {
        var set = new SequenceSet();
        foreach (var n in new ulong[] { 5, 3, 4, 9, 3, 7, 5 }) set.Add(n);
        Assert.Equal(5, set.Count); // 3 4 5 7 9
        Assert.Equal(3UL, set.Lowest);
        Assert.Equal(9UL, set.Highest);
        Assert.Equal(2, set.Missing); // 6 8
        Assert.False(set.Add(4));
        Assert.True(set.Add(6));
        Assert.True(set.Add(8));
        Assert.Equal(0, set.Missing);
    }

    [Fact]
    public void StaysBoundedWhenEveryOtherNumberComes()
    {
        var set = new SequenceSet();
        for (ulong n = 0; n < 2 * (ulong)SequenceSet.MaxRanges + 100; n += 2) set.Add(n);
        Assert.True(set.Forgotten > 0);
        Assert.Equal((long)(set.Highest - set.Lowest + 1), set.Count + set.Forgotten + set.Missing);
        Assert.False(set.Add(1)); // forgotten numbers count as seen
    }
}
