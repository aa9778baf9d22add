using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Switchboard.Conn;
using Switchboard.Transport;

namespace Switchboard.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/Switchboard.Benchmarks -- alloc [sizes...]</c>: the MConnectionPair
/// benchmark's steady state without BenchmarkDotNet, reporting bytes allocated per packet by every thread
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>) both in total and beyond the delivered message arrays (one new
/// byte[] per message, handed to the consumer). Quick to run under <c>dotnet-trace</c> to find what allocates.
/// </summary>
internal static class AllocationProbe
{
    private const byte ChannelId = 0x20;
    private const int PacketPayload = 1024;

    public static async Task RunAsync(string[] args)
    {
        var types = args.Contains("--types");
        int[] sizes = args.Where(a => a != "--types").Select(int.Parse).ToArray();
        if (sizes.Length == 0) sizes = [256, 1024, 64 * 1024, 1024 * 1024];
        foreach (var size in sizes) await MeasureAsync(size, types);
    }

    /// <summary>What the GC counts for a byte[] of <paramref name="length"/> bytes (64-bit: 24-byte header, 8-byte aligned).</summary>
    public static long ArrayBytes(int length) => (24L + length + 7) & ~7L;

    private static async Task MeasureAsync(int size, bool types)
    {
        var message = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        var messages = (int)Math.Max(64, (8L << 20) / size);
        var packetsPerMessage = Math.Max(1, (size + PacketPayload - 1) / PacketPayload);
        var (a, b) = MemoryDuplexStream.CreatePair();
        var channels = new[] { new ChannelDescriptor(ChannelId, 1) { SendQueueCapacity = 1024, RecvMessageCapacity = 2 << 20 } };
        var receiving = new CountingHandler();
        await using var sender = new MConnection(a, channels, new CountingHandler());
        await using var receiver = new MConnection(b, channels, receiving);
        sender.Start();
        receiver.Start();

        async Task<long> RoundAsync()
        {
            receiving.Expect(messages);
            for (var i = 0; i < messages; i++)
                if (!await sender.SendAsync(ChannelId, message)) throw new InvalidOperationException("send failed");
            await receiving.Done;
            return receiving.DeliveredBytes;
        }

        for (var i = 0; i < 3; i++) await RoundAsync();
        const int Rounds = 5;
        long delivered = 0;
        using var ticks = types ? new AllocationTicks() : null;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < Rounds; i++) delivered += await RoundAsync();
        var total = GC.GetTotalAllocatedBytes(precise: true) - before;
        ticks?.Print();
        var packets = (double)Rounds * messages * packetsPerMessage;
        Console.WriteLine($"{size,8} B messages: {total / packets,8:0.0} B/packet in total, " +
            $"{(total - delivered) / packets,8:0.0} B/packet beyond the delivered arrays ({messages} messages × {Rounds} rounds, " +
            $"{packetsPerMessage} packets each)");
    }

    private sealed class CountingHandler : IMConnectionHandler
    {
        private int _remaining;
        private long _delivered;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Done => _done.Task;

        /// <summary>GC bytes of the arrays delivered in the current round.</summary>
        public long DeliveredBytes => Volatile.Read(ref _delivered);

        public void Expect(int messages)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _delivered, 0);
            Volatile.Write(ref _remaining, messages);
        }

        public ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            Interlocked.Add(ref _delivered, ArrayBytes(message.Length));
            if (Interlocked.Decrement(ref _remaining) == 0) _done.TrySetResult();
            return ValueTask.CompletedTask;
        }

        public void OnClosed(Exception? error)
        {
            if (error is not null) _done.TrySetException(error);
        }
    }

    /// <summary>--types: the runtime's allocation sampling (one GCAllocationTick about every 100 KB), by type.</summary>
    private sealed class AllocationTicks : EventListener
    {
        private readonly ConcurrentDictionary<string, int> _byType = new();
        private volatile bool _on;

        public AllocationTicks() => _on = true;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (!_on || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)) return;
            var index = e.PayloadNames!.IndexOf("TypeName");
            var type = index >= 0 ? e.Payload![index] as string ?? "?" : "?";
            _byType.AddOrUpdate(type, 1, static (_, n) => n + 1);
        }

        public void Print()
        {
            _on = false;
            foreach (var (type, n) in _byType.OrderByDescending(kv => kv.Value)) Console.WriteLine($"    {n,6} ticks  {type}");
        }
    }
}
