using System.Buffers;
using Switchboard.Tests.Support;
using Switchboard.Wire;

namespace Switchboard.Tests.Wire;

public class VarintTests
{
    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(16383UL, "ff7f")]
    [InlineData(16384UL, "808001")]
    [InlineData(1034UL, "8a08")]
    [InlineData(ulong.MaxValue, "ffffffffffffffffff01")]
    public void RoundTrips(ulong value, string hex)
    {
        Span<byte> buf = stackalloc byte[Varint.MaxLength];
        var n = Varint.Write(buf, value);
        Assert.Equal(hex, Vectors.ToHex(buf[..n]));
        Assert.Equal(n, Varint.SizeOf(value));
        Assert.Equal(OperationStatus.Done, Varint.TryRead(buf[..n], out var back, out var used));
        Assert.Equal((value, n), (back, used));
        Assert.Equal(OperationStatus.NeedMoreData, Varint.TryRead(buf[..(n - 1)], out _, out _));
    }

    [Theory]
    [InlineData("ffffffffffffffffff7f")]   // libs/protoio io_test: 10 bytes, overflows
    [InlineData("ffffffffffffffffff02")]
    [InlineData("8080808080808080808000")] // 11 bytes
    public void RejectsOverlongOrOverflowing(string hex)
    {
        Assert.Equal(OperationStatus.InvalidData, Varint.TryRead(Vectors.Hex(hex), out _, out _));
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Vectors.Hex(hex)));
        Assert.Equal(OperationStatus.InvalidData, Varint.TryRead(ref reader, out _));
        Assert.Equal(0, reader.Consumed);
    }

    [Fact]
    public async Task DelimitedChecksTheLimitBeforeReadingTheBody()
    {
        // Declares 2^40 bytes but carries none: must fail on the prefix alone, without allocating.
        using var s = new MemoryStream(Vectors.Hex("8080808080200000"));
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => Delimited.ReadAsync(s, 1 << 20).AsTask());
        Assert.Equal(ProtocolViolation.MessageTooLarge, ex.Violation);
        Assert.Equal(6, s.Position);
    }

    [Theory]
    [InlineData("", ProtocolViolation.Truncated)]
    [InlineData("ffff", ProtocolViolation.Truncated)]
    [InlineData("0501", ProtocolViolation.Truncated)]
    [InlineData("ffffffffffffffffffff01", ProtocolViolation.MalformedVarint)]
    public async Task DelimitedRejectsBadStreams(string hex, ProtocolViolation expected)
    {
        using var s = new MemoryStream(Vectors.Hex(hex));
        var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => Delimited.ReadAsync(s, 1 << 20).AsTask());
        Assert.Equal(expected, ex.Violation);
    }
}
