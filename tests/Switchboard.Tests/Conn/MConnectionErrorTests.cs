using Switchboard.Conn;
using Switchboard.Tests.Support;
using static Switchboard.Tests.Conn.MConnectionKit;

namespace Switchboard.Tests.Conn;

/// <summary>PROTOCOL.md 1.5: every error is fatal, typed, reported once, and nothing partial is delivered.</summary>
public class MConnectionErrorTests
{
    private static readonly ChannelDescriptor[] Channels =
    [
        new(0x01, 1) { RecvMessageCapacity = 10 },
        new(0x77, 1),
    ];

    [Theory]
    [InlineData("unknown channel 0x05", "0d1a0b080510011a0568656c6c6f", ProtocolViolation.UnknownChannel)]
    [InlineData("channel id 1025", "0a1a0808810810011a0178", ProtocolViolation.UnknownChannel)]
    [InlineData("channel id -1", "0f1a0d08ffffffffffffffffff011001", ProtocolViolation.UnknownChannel)]
    [InlineData("empty packet", "00", ProtocolViolation.UnknownMessageType)]
    [InlineData("only unknown fields", "022001", ProtocolViolation.UnknownMessageType)]
    [InlineData("bad length varint", "ffffffffffffffffffff01", ProtocolViolation.MalformedVarint)]
    [InlineData("body over 1034 (prefix alone)", "8b08", ProtocolViolation.MessageTooLarge)]
    [InlineData("raw bytes 01 02 03 04 05", "0102030405", ProtocolViolation.MalformedMessage)]
    [InlineData("message over RecvMessageCapacity",
        "0e1a0c08011a080102030405060708" + "101a0e080110011a080102030405060708", ProtocolViolation.ChannelCapacityExceeded)]
    [InlineData("fragment of a message, then garbage", "0e1a0c08771a080102030405060708" + "00", ProtocolViolation.UnknownMessageType)]
    public async Task ClosesWithTheRightReasonOnceAndDeliversNothing(string what, string hex, ProtocolViolation violation)
    {
        var (conn, handler, raw) = WithRawPeer(Channels);
        await WriteHexAsync(raw, hex);
        var error = await ClosedWithAsync<ProtocolViolationException>(handler, conn);
        Assert.True(violation == error.Violation, $"{what}: got {error.Violation} ({error.Message})");
        Assert.Empty(handler.Messages);
        await conn.DisposeAsync();
        Assert.Equal(1, handler.ClosedCount);
        Assert.Equal(0, await raw.ReadAsync(new byte[16]));   // the transport is closed
    }

    [Fact]
    public async Task CompleteMessagesBeforeAnErrorAreDeliveredButThePartialOneIsNot()
    {
        var handlerGate = new TaskCompletionSource();
        var (conn, handler, raw) = WithRawPeer(Channels);
        // "hi" on 0x77, then half a message on 0x77, then a packet for an unknown channel.
        await WriteHexAsync(raw, "0a1a08087710011a026869");
        await Eventually.TrueAsync(() => handler.Count == 1, "first message delivered");
        await WriteHexAsync(raw, "0e1a0c08771a080102030405060708" + "0d1a0b080510011a0568656c6c6f");
        var error = await ClosedWithAsync<ProtocolViolationException>(handler, conn);
        Assert.Equal(ProtocolViolation.UnknownChannel, error.Violation);
        Assert.Equal("6869", Vectors.ToHex(Assert.Single(handler.Messages).Data));
    }

    [Fact]
    public async Task StreamEndingInsideAPacketIsTruncated()
    {
        var (conn, handler, raw) = WithRawPeer(Channels);
        await WriteHexAsync(raw, "0d1a0b0877");
        await raw.DisposeAsync();
        var error = await ClosedWithAsync<ProtocolViolationException>(handler, conn);
        Assert.Equal(ProtocolViolation.Truncated, error.Violation);
        Assert.Empty(handler.Messages);
    }

    [Fact]
    public async Task PeerClosingBetweenPacketsIsEndOfStream()
    {
        var (conn, handler, raw) = WithRawPeer(Channels);
        await WriteHexAsync(raw, "021200");
        await raw.DisposeAsync();
        await ClosedWithAsync<EndOfStreamException>(handler, conn);
    }

    [Theory]
    [InlineData("04", ProtocolViolation.UnknownMessageType)]
    [InlineData("030101090000000000000000", ProtocolViolation.MalformedVarint)]
    [InlineData("030101f101", ProtocolViolation.MalformedVarint)]
    [InlineData("0301010204010000", ProtocolViolation.MessageTooLarge)]
    [InlineData("030501010178", ProtocolViolation.UnknownChannel)]
    public async Task LegacyFramingErrorsAreFatalToo(string hex, ProtocolViolation violation)
    {
        var (conn, handler, raw) = WithRawPeer(Channels, new MConnectionOptions { Framing = PacketFraming.Legacy });
        await WriteHexAsync(raw, hex);
        var error = await ClosedWithAsync<ProtocolViolationException>(handler, conn);
        Assert.Equal(violation, error.Violation);
        Assert.Empty(handler.Messages);
    }
}
