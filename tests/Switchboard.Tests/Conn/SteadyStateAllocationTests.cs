using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;
using Switchboard.Transport;
using Xunit.Abstractions;

namespace Switchboard.Tests.Conn;

/// <summary>
/// Steady-state traffic allocates nothing per packet beyond the delivered message (one new byte[] per message,
/// handed to the consumer): an MConnection pair over the in-memory stream, the same with a SecretConnection under each
/// side, and two Switches (Peer.SendAsync, the fair inbound queue, an agent's ReadAllAsync and ReadAsync).
/// </summary>
/// <remarks>
/// Measured with <see cref="GC.GetTotalAllocatedBytes(bool)"/>, every thread of the process: the send, receive and
/// dispatch loops hop between thread-pool threads at each await, and those threads also run other work, so counting
/// "the threads involved" with <see cref="GC.GetAllocatedBytesForCurrentThread"/> would miss allocations made on a hop
/// and count strangers' ones. To keep other tests' allocations out, the class runs alone after the parallel tests
/// (its own non-parallel collection); and what is left of the process's background work (timers, finalizers) can only
/// add bytes, so the figure is the best of several windows: a real per-packet allocation shows in every window.
/// </remarks>
[Collection(Name)]
public sealed class SteadyStateAllocationTests(ITestOutputHelper output)
{
    public const string Name = "steady-state allocation (run alone)";

    /// <summary>Average bytes per packet allowed beyond the delivered arrays: room for a rare queue growth or a timer,
    /// far below one object per packet (before the fixes: 150-780 B).</summary>
    private const double MaxBytesPerPacket = 16;

    private const byte ChannelId = 0x20;
    private const int PacketPayload = 1024;
    private const long BytesPerWindow = 8L << 20;
    private const int WarmUpWindows = 3;
    private const int Windows = 5;
    private static readonly TimeSpan WindowDeadline = TimeSpan.FromSeconds(60);

    private static readonly ChannelDescriptor[] Channels =
        [new ChannelDescriptor(ChannelId, 1) { SendQueueCapacity = 1024, RecvMessageCapacity = 2 << 20, RecvQueueBytes = 8 << 20 }];

    [Theory]
    [InlineData(256)]
    [InlineData(1024)]
    [InlineData(64 * 1024)]
    [InlineData(1024 * 1024)]
    public async Task MConnectionPairAllocatesNothingPerPacket(int size)
    {
        var (a, b) = MemoryDuplexStream.CreatePair();
        await AssertPairAsync(a, b, size);
    }

    /// <summary>A send queue of one message: every SendAsync waits for room (a sender faster than its link).</summary>
    [Theory]
    [InlineData(256)]
    [InlineData(64 * 1024)]
    public async Task SenderWaitingForRoomAllocatesNothingPerPacket(int size)
    {
        var (a, b) = MemoryDuplexStream.CreatePair();
        await AssertPairAsync(a, b, size, [new ChannelDescriptor(ChannelId, 1) { SendQueueCapacity = 1, RecvMessageCapacity = 2 << 20, RecvQueueBytes = 8 << 20 }]);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(64 * 1024)]
    public async Task SecretConnectionPairAllocatesNothingPerPacket(int size)
    {
        var (a, b) = MemoryDuplexStream.CreatePair();
        var ha = SecretConnection.HandshakeAsync(a, NodeKey.Generate());
        var hb = SecretConnection.HandshakeAsync(b, NodeKey.Generate());
        await AssertPairAsync(await Eventually.WithinAsync(ha, "handshake"), await Eventually.WithinAsync(hb, "handshake"), size);
    }

    [Theory]
    [InlineData(256, false)]
    [InlineData(256, true)]
    [InlineData(64 * 1024, false)]
    public async Task SwitchPathAllocatesNothingPerPacket(int size, bool readEach)
    {
        var network = new MemoryNetwork();
        var ka = NodeKey.Generate();
        var kb = NodeKey.Generate();
        var options = new SwitchOptions { Network = "alloc-test", DialJitter = TimeSpan.Zero };
        await using var a = new Switch(network.CreateTransport(ka), ka, options);
        await using var b = new Switch(network.CreateTransport(kb), kb, options);
        a.OpenChannel(Channels[0]);
        var inbound = b.OpenChannel(Channels[0]);
        await a.StartAsync(null);
        await b.StartAsync(new IPEndPoint(IPAddress.Any, 0));
        var peer = await Eventually.WithinAsync(a.DialPeerAsync(b.ListenAddress!), "dial");

        var counter = new DeliveryCounter();
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            try
            {
                if (readEach)
                {
                    while (true) counter.Delivered((await inbound.ReadAsync(stop.Token)).Message.Length);
                }
                else
                {
                    await foreach (var e in inbound.ReadAllAsync(stop.Token)) counter.Delivered(e.Message.Length);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });
        try
        {
            await AssertSteadyStateAsync(size, counter, message => peer.SendAsync(ChannelId, message));
        }
        finally
        {
            stop.Cancel();
            await Eventually.WithinAsync(reading, "agent loop ends");
        }
    }

    private async Task AssertPairAsync(Stream a, Stream b, int size, ChannelDescriptor[]? channels = null)
    {
        channels ??= Channels;
        var counter = new DeliveryCounter();
        await using var sender = new MConnection(a, channels, new DeliveryCounter());
        await using var receiver = new MConnection(b, channels, counter);
        sender.Start();
        receiver.Start();
        await AssertSteadyStateAsync(size, counter, message => sender.SendAsync(ChannelId, message));
    }

    /// <summary>Warms up, then measures windows of <see cref="BytesPerWindow"/> and asserts on the best one.</summary>
    private async Task AssertSteadyStateAsync(int size, DeliveryCounter counter, Func<byte[], ValueTask<bool>> send)
    {
        var message = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        var messages = (int)Math.Max(8, BytesPerWindow / size);
        var packets = (long)messages * Math.Max(1, (size + PacketPayload - 1) / PacketPayload);

        async Task<long> WindowAsync()
        {
            var done = counter.Expect(messages);
            for (var i = 0; i < messages; i++)
                if (!await send(message)) throw new InvalidOperationException("send failed");
            await Eventually.WithinAsync(done, $"{messages} messages of {size} bytes delivered", WindowDeadline);
            return counter.DeliveredBytes;
        }

        // Warm-up: queues and pools reach their working size, the JIT its final tier.
        for (var i = 0; i < WarmUpWindows; i++) await WindowAsync();
        var figures = new List<double>();
        for (var i = 0; i < Windows; i++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var delivered = await WindowAsync();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            figures.Add((allocated - delivered) / (double)packets);
        }
        var best = figures.Min();
        output.WriteLine($"{size}-byte messages, B/packet beyond the delivered arrays per window: " +
            string.Join(", ", figures.Select(f => f.ToString("0.0"))));
        Assert.True(best < MaxBytesPerPacket,
            $"{size}-byte messages: {best:0.0} B allocated per packet beyond the delivered arrays in the best window " +
            $"(all windows: {string.Join(", ", figures.Select(f => f.ToString("0.0")))}; {packets} packets each); " +
            $"at most {MaxBytesPerPacket} allowed");
    }

    /// <summary>What the GC counts for a byte[] of <paramref name="length"/> bytes (64-bit: 24-byte header, 8-byte aligned).</summary>
    private static long ArrayBytes(int length) => (24L + length + 7) & ~7L;

    /// <summary>Counts delivered messages and the GC size of their arrays; completes a window's task at the last one.</summary>
    private sealed class DeliveryCounter : IMConnectionHandler
    {
        private int _remaining;
        private long _delivered;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long DeliveredBytes => Volatile.Read(ref _delivered);

        public Task Expect(int messages)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _delivered, 0);
            Volatile.Write(ref _remaining, messages);
            return _done.Task;
        }

        public void Delivered(int length)
        {
            Interlocked.Add(ref _delivered, ArrayBytes(length));
            if (Interlocked.Decrement(ref _remaining) == 0) _done.TrySetResult();
        }

        public ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            Delivered(message.Length);
            return ValueTask.CompletedTask;
        }

        public void OnClosed(Exception? error)
        {
            if (error is not null) _done.TrySetException(error);
        }
    }
}

[CollectionDefinition(SteadyStateAllocationTests.Name, DisableParallelization = true)]
public sealed class SteadyStateAllocationCollection;
