using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;
using Switchboard.Wire;

namespace Switchboard.Tests.Peers;

public class HandshakeTests
{
    private static readonly NodeId A = NodeId.Parse(NodeInfoTests.IdA);
    private static readonly NodeId B = NodeId.Parse(NodeInfoTests.IdB);
    private static readonly NodeInfo Ours = NodeInfoTests.Sample(NodeInfoTests.IdA, "nodeA");
    private static readonly NodeInfo Theirs = NodeInfoTests.Sample(NodeInfoTests.IdB, "nodeB");

    [Fact]
    public async Task BothEndsExchangeConcurrentlyAndAccept()
    {
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        await using (b)
        {
            var atA = Handshake.ExchangeNodeInfoAsync(a, Ours);
            var atB = Handshake.ExchangeNodeInfoAsync(b, Theirs);
            Assert.Equal(Theirs, await Eventually.WithinAsync(atA, "A's exchange"));
            Assert.Equal(Ours, await Eventually.WithinAsync(atB, "B's exchange"));
            Handshake.VerifyPeer(await atA, B, Ours);
            Handshake.VerifyPeer(await atB, A, Theirs);
        }
    }

    [Fact]
    public async Task APeerThatSendsNothingIsCancelledPromptlyAndNothingIsLeftPending()
    {
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        await using (b)
        {
            using var deadline = new CancellationTokenSource();
            var exchange = Handshake.ExchangeNodeInfoAsync(a, Ours, deadline.Token);

            // Our half goes out, byte for byte, even though the peer is silent.
            var sent = await Eventually.WithinAsync(Delimited.ReadAsync(b, NodeInfo.MaxSize).AsTask(), "our NodeInfo");
            Assert.Equal(Ours.EncodeBody(), sent);
            Assert.False(exchange.IsCompleted);

            deadline.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Eventually.WithinAsync(exchange, "the cancelled exchange"));

            // The read half was really cancelled: a new read on the same stream is allowed and gets new bytes.
            await AssertStreamStillUsable(a, b);
        }
    }

    [Fact]
    public async Task AnAlreadyCancelledTokenFailsAtOnce()
    {
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        await using (b)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => Eventually.WithinAsync(Handshake.ExchangeNodeInfoAsync(a, Ours, new CancellationToken(canceled: true)), "exchange"));
        }
    }

    [Fact]
    public async Task AnOversizeLengthIsRejectedBeforeTheBodyIsRead()
    {
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        await using (b)
        {
            var exchange = Handshake.ExchangeNodeInfoAsync(a, Ours);
            // uvarint(10241) and no body at all: waiting for the body would hang, not fail.
            await b.WriteAsync(new byte[] { 0x81, 0x50 });
            await b.FlushAsync();
            var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => Eventually.WithinAsync(exchange, "exchange"));
            Assert.Equal(ProtocolViolation.MessageTooLarge, ex.Violation);
            // Our NodeInfo was still written completely.
            Assert.Equal(Ours.EncodeBody(), await Eventually.WithinAsync(Delimited.ReadAsync(b, NodeInfo.MaxSize).AsTask(), "ours"));
            await AssertStreamStillUsable(a, b);
        }
    }

    [Fact]
    public async Task ExactlyTheLimitIsAccepted()
    {
        var big = Theirs with { Moniker = new string('m', NodeInfo.MaxSize - (Theirs.EncodeBody().Length - 7) - 3) };
        Assert.Equal(NodeInfo.MaxSize, big.EncodeBody().Length);
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        await using (b)
        {
            var exchange = Handshake.ExchangeNodeInfoAsync(a, Ours);
            await b.WriteAsync(big.Encode());
            await b.FlushAsync();
            Assert.Equal(big, await Eventually.WithinAsync(exchange, "exchange"));
        }
    }

    [Theory]
    [InlineData("030a0501", ProtocolViolation.MalformedMessage)]      // a submessage longer than the body
    [InlineData("0200ff", ProtocolViolation.MalformedMessage)]        // field number 0
    [InlineData("ffffffffffffffffff7f", ProtocolViolation.MalformedVarint)]
    public async Task GarbageIsATypedError(string hex, ProtocolViolation expected)
    {
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        await using (b)
        {
            var exchange = Handshake.ExchangeNodeInfoAsync(a, Ours);
            await b.WriteAsync(Vectors.Hex(hex));
            await b.FlushAsync();
            var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => Eventually.WithinAsync(exchange, "exchange"));
            Assert.Equal(expected, ex.Violation);
        }
    }

    [Theory]
    [InlineData("")]              // closed before anything
    [InlineData("96")]            // inside the length prefix
    [InlineData("64010203")]      // 100 bytes declared, 3 sent
    public async Task TruncationIsATypedError(string hex)
    {
        var (a, b) = DuplexPipe.CreatePair();
        await using (a)
        {
            var exchange = Handshake.ExchangeNodeInfoAsync(a, Ours);
            await b.WriteAsync(Vectors.Hex(hex));
            await b.FlushAsync();
            await b.DisposeAsync();
            var ex = await Assert.ThrowsAsync<ProtocolViolationException>(() => Eventually.WithinAsync(exchange, "exchange"));
            Assert.Equal(ProtocolViolation.Truncated, ex.Violation);
        }
    }

    [Fact]
    public void VerifyPeerChecksInCometBftOrder()
    {
        // Invalid, claims our own ID (so also self and an auth mismatch for B) and on another network.
        var everythingWrong = Ours with { Moniker = "", Network = "other-chain" };
        Assert.Equal(RejectReason.InvalidNodeInfo, Reject(everythingWrong, B));

        var valid = everythingWrong with { Moniker = "impostor" };
        Assert.Equal(RejectReason.AuthFailure, Reject(valid, B));   // says A, authenticated as B
        Assert.Equal(RejectReason.Self, Reject(valid, A));          // really is us
        Assert.Equal(RejectReason.Incompatible, Reject(Theirs with { Network = "other-chain" }, B));
        Handshake.VerifyPeer(Theirs, B, Ours);

        static RejectReason Reject(NodeInfo theirs, NodeId authenticated) =>
            Assert.Throws<PeerRejectedException>(() => Handshake.VerifyPeer(theirs, authenticated, Ours)).Reason;
    }

    [Fact]
    public void TheAuthenticatedIdMustMatchTheAnnouncedTextExactly()
    {
        var proto = Theirs.ToProto();
        proto.DefaultNodeId = NodeInfoTests.IdB.ToUpperInvariant();
        var upper = NodeInfo.FromProto(proto);
        upper.Validate();
        var ex = Assert.Throws<PeerRejectedException>(() => Handshake.VerifyPeer(upper, B, Ours));
        Assert.Equal(RejectReason.AuthFailure, ex.Reason);
        Assert.Equal(RejectReason.AuthFailure,
            Assert.Throws<PeerRejectedException>(() => Handshake.VerifyPeer(Theirs, default, Ours)).Reason);
    }

    [Fact]
    public void DialedIdMustMatchTheAuthenticatedId()
    {
        Handshake.VerifyDialedId(B, B);
        var ex = Assert.Throws<PeerRejectedException>(() => Handshake.VerifyDialedId(B, A));
        Assert.Equal(RejectReason.AuthFailure, ex.Reason);
        Assert.Contains("dialed ID mismatch", ex.Message);
    }

    private static async Task AssertStreamStillUsable(Stream a, Stream b)
    {
        await b.WriteAsync(new byte[] { 42 });
        await b.FlushAsync();
        var buffer = new byte[1];
        Assert.Equal(1, await Eventually.WithinAsync(a.ReadAsync(buffer).AsTask(), "a read after the failed exchange"));
        Assert.Equal(42, buffer[0]);
    }
}
