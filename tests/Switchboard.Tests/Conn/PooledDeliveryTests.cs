using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Switchboard.Conn;
using Switchboard.Peers;
using Switchboard.Tests.Integration;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Conn;

/// <summary>
/// <see cref="ChannelDescriptor.PooledDelivery"/>: messages arrive in arrays from the shared pool (sized as the pool
/// sizes them, powers of two), intact and in order, and go back to the pool when the consumer moves on.
/// </summary>
public sealed class PooledDeliveryTests
{
    private const byte Channel = 0x31;

    /// <summary>Single-packet and reassembled sizes, from one byte to several fragments and past 64 KiB.</summary>
    private static readonly int[] Sizes = [1, 100, 1000, 1024, 1025, 5000, 70_000, 300_000, 100, 300_000];

    private static byte[] Message(int size, int seed) => Enumerable.Range(0, size).Select(i => (byte)(i * 31 + seed)).ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AHandlerGetsEveryMessageIntactInPoolSizedArraysOnlyWhenAskedFor(bool pooled)
    {
        var channels = new[] { new ChannelDescriptor(Channel, 1) { SendQueueCapacity = 32, RecvMessageCapacity = 1 << 20, PooledDelivery = pooled } };
        var (a, _, b, hb) = MConnectionKit.Pair(channels);
        await using var _a = a;
        await using var _b = b;
        var arrayLengths = new ConcurrentQueue<int>();
        hb.OnMessage = (_, message, _) =>
        {
            Assert.True(MemoryMarshal.TryGetArray(message, out var segment));
            arrayLengths.Enqueue(segment.Array!.Length);
            return ValueTask.CompletedTask;
        };

        for (var i = 0; i < Sizes.Length; i++) Assert.True(await a.SendAsync(Channel, Message(Sizes[i], i)));
        await Eventually.TrueAsync(() => hb.Count == Sizes.Length, "every message delivered");

        // The handler recorded copies while each message was valid: content and order are exact.
        Assert.Equal(Sizes.Select((size, i) => Message(size, i)), hb.Messages.Select(m => m.Data));
        var lengths = arrayLengths.ToArray();
        for (var i = 0; i < Sizes.Length; i++)
        {
            if (pooled) Assert.True(lengths[i] >= Sizes[i] && int.IsPow2(lengths[i]), $"message {i}: array of {lengths[i]} bytes for {Sizes[i]}");
            else if (Sizes[i] <= 1024) Assert.Equal(Sizes[i], lengths[i]); // a single packet: an exact new array
        }
    }

    [Fact]
    public async Task AnAgentsMessageGoesBackToThePoolAtItsNextRead()
    {
        var descriptor = new ChannelDescriptor(Channel, 1) { SendQueueCapacity = 8, PooledDelivery = true };
        var kind = new TcpKind();
        AgentChannel? inbox = null;
        await using var receiver = await TestNode.StartAsync(kind, register: s => inbox = s.OpenChannel(descriptor));
        await using var sender = await TestNode.StartAsync(kind, register: s => s.OpenChannel(descriptor), listen: false);
        var peer = await sender.Switch.DialPeerAsync(receiver.Address);

        var first = Message(3000, 1);
        var second = Message(3000, 2);
        Assert.True(await peer.SendAsync(Channel, first));
        Assert.True(await peer.SendAsync(Channel, second));
        await Eventually.TrueAsync(() => ReceivedOn(receiver) == 2, "both messages received");

        Assert.True(inbox!.TryRead(out var e1));
        Assert.Equal(first, e1.Message.ToArray());
        Assert.True(MemoryMarshal.TryGetArray(e1.Message, out var firstArray));
        Assert.Equal(4096, firstArray.Array!.Length);

        // The next read gives the first array back (on this thread, so the pool's per-thread slot holds it now).
        Assert.True(inbox.TryRead(out var e2));
        Assert.Equal(second, e2.Message.ToArray());
        Assert.True(MemoryMarshal.TryGetArray(e2.Message, out var secondArray));
        Assert.NotSame(firstArray.Array, secondArray.Array);
        var rented = ArrayPool<byte>.Shared.Rent(3000);
        Assert.Same(firstArray.Array, rented);
        ArrayPool<byte>.Shared.Return(rented);
    }

    [Fact]
    public async Task AReactorSeesItsPooledMessageIntactUntilReceiveReturns()
    {
        var descriptor = new ChannelDescriptor(Channel, 1) { SendQueueCapacity = 32, RecvMessageCapacity = 1 << 20, PooledDelivery = true };
        var kind = new TcpKind();
        var reactor = new RecordingReactor("pooled", descriptor);
        await using var receiver = await TestNode.StartAsync(kind, register: s => s.AddReactor(reactor));
        await using var sender = await TestNode.StartAsync(kind, register: s => s.AddReactor(new RecordingReactor("sender", descriptor)), listen: false);
        var peer = await sender.Switch.DialPeerAsync(receiver.Address);

        for (var i = 0; i < Sizes.Length; i++) Assert.True(await peer.SendAsync(Channel, Message(Sizes[i], i)));
        await Eventually.TrueAsync(() => reactor.Received.Count == Sizes.Length, "every message received");
        Assert.Equal(Sizes.Select((size, i) => Message(size, i)), reactor.Received.Select(r => r.Message));
    }

    private static long ReceivedOn(TestNode node) =>
        node.Switch.Peers.OfType<IPeer>().Sum(p => p.GetStatus()?.Channels.Where(c => c.Id == Channel).Sum(c => c.MessagesReceived) ?? 0);
}
