using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Net;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/Switchboard.Benchmarks -- alloc [pair|secret|switch] [sizes...] [--types]
/// [--metrics] [--read]</c>: steady-state bytes allocated per packet by every thread
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>), in total and beyond the delivered message arrays (one new byte[]
/// per message, handed to the consumer). <c>pair</c> (default) is the MConnectionPair benchmark: two MConnections over
/// the in-memory <see cref="MemoryDuplexStream"/>; <c>secret</c> puts a SecretConnection under each; <c>switch</c> is
/// two Switches over a <see cref="MemoryNetwork"/> (SecretConnection, MConnection, Peer.SendAsync, the fair inbound
/// queue and an agent's ReadAllAsync, or ReadAsync per message with <c>--read</c>; <c>--metrics</c> listens to the
/// Switch's meter). <c>--types</c> prints the runtime's allocation sampling by type. Quick to run under dotnet-trace.
/// </summary>
internal static class AllocationProbe
{
    private const byte ChannelId = 0x20;
    private const int PacketPayload = 1024;
    /// <summary>The pair's send queue capacity; ALLOC_QUEUE=1 makes every SendAsync wait for room (the slow path).</summary>
    private static readonly int SendQueueCapacity = int.TryParse(Environment.GetEnvironmentVariable("ALLOC_QUEUE"), out var q) ? q : 1024;

    /// <summary>Measured rounds (after three warm-up rounds); ALLOC_ROUNDS overrides (more samples under a tracer).</summary>
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("ALLOC_ROUNDS"), out var r) ? r : 5;

    public static async Task RunAsync(string[] args)
    {
        var flags = args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToHashSet();
        var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        var mode = rest.Count > 0 && !char.IsDigit(rest[0][0]) ? rest[0] : "pair";
        int[] sizes = rest.Where(a => char.IsDigit(a[0])).Select(int.Parse).ToArray();
        if (sizes.Length == 0) sizes = [256, 1024, 64 * 1024, 1024 * 1024];
        using var metrics = flags.Contains("--metrics") ? ListenToMetrics() : null;
        foreach (var size in sizes)
        {
            if (metrics is not null) Console.WriteLine($"metrics listener: {Interlocked.Read(ref s_measured)} so far");
            var probe = mode switch
            {
                "pair" => await PairProbe.CreateAsync(secret: false),
                "secret" => await PairProbe.CreateAsync(secret: true),
                "switch" => (IProbe)await SwitchProbe.CreateAsync(flags.Contains("--read")),
                _ => throw new ArgumentException($"unknown mode {mode}"),
            };
            await using (probe) await MeasureAsync(mode, probe, size, flags.Contains("--types"));
        }
    }

    /// <summary>What the GC counts for a byte[] of <paramref name="length"/> bytes (64-bit: 24-byte header, 8-byte aligned).</summary>
    public static long ArrayBytes(int length) => (24L + length + 7) & ~7L;

    private static async Task MeasureAsync(string mode, IProbe probe, int size, bool types)
    {
        var message = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        var messages = (int)Math.Max(64, (8L << 20) / size);
        var packetsPerMessage = Math.Max(1, (size + PacketPayload - 1) / PacketPayload);
        for (var i = 0; i < 3; i++) await probe.RoundAsync(message, messages);
        long delivered = 0;
        using var ticks = types ? new AllocationTicks() : null;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < Rounds; i++) delivered += await probe.RoundAsync(message, messages);
        var total = GC.GetTotalAllocatedBytes(precise: true) - before;
        ticks?.Print();
        var packets = (double)Rounds * messages * packetsPerMessage;
        Console.WriteLine($"{mode} {size,8} B messages: {total / packets,8:0.0} B/packet in total, " +
            $"{(total - delivered) / packets,8:0.0} B/packet beyond the delivered arrays ({messages} messages × {Rounds} rounds, " +
            $"{packetsPerMessage} packets each)");
    }

    private interface IProbe : IAsyncDisposable
    {
        /// <summary>Sends <paramref name="count"/> messages and waits for all; returns the GC bytes of the delivered arrays.</summary>
        Task<long> RoundAsync(byte[] message, int count);
    }

    private sealed class PairProbe : IProbe
    {
        private readonly MConnection _sender;
        private readonly MConnection _receiver;
        private readonly CountingHandler _receiving;

        private PairProbe(MConnection sender, MConnection receiver, CountingHandler receiving)
        {
            _sender = sender;
            _receiver = receiver;
            _receiving = receiving;
        }

        public static async Task<PairProbe> CreateAsync(bool secret)
        {
            var (a, b) = MemoryDuplexStream.CreatePair();
            Stream sa = a, sb = b;
            if (secret)
            {
                var ha = SecretConnection.HandshakeAsync(a, NodeKey.Generate());
                var hb = SecretConnection.HandshakeAsync(b, NodeKey.Generate());
                sa = await ha;
                sb = await hb;
            }
            var channels = new[] { new ChannelDescriptor(ChannelId, 1) { SendQueueCapacity = SendQueueCapacity, RecvMessageCapacity = 2 << 20 } };
            var receiving = new CountingHandler();
            var sender = new MConnection(sa, channels, new CountingHandler());
            var receiver = new MConnection(sb, channels, receiving);
            sender.Start();
            receiver.Start();
            return new PairProbe(sender, receiver, receiving);
        }

        public async Task<long> RoundAsync(byte[] message, int count)
        {
            _receiving.Expect(count);
            for (var i = 0; i < count; i++)
                if (!await _sender.SendAsync(ChannelId, message)) throw new InvalidOperationException("send failed");
            await _receiving.Done;
            return _receiving.DeliveredBytes;
        }

        public async ValueTask DisposeAsync()
        {
            await _sender.DisposeAsync();
            await _receiver.DisposeAsync();
        }
    }

    private sealed class SwitchProbe : IProbe
    {
        private readonly Switch _a;
        private readonly Switch _b;
        private readonly IPeer _peer;
        private readonly Task _reading;
        private readonly CancellationTokenSource _stop = new();
        private int _remaining;
        private long _delivered;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private SwitchProbe(Switch a, Switch b, IPeer peer, AgentChannel inbound, bool readAsync)
        {
            _a = a;
            _b = b;
            _peer = peer;
            _reading = Task.Run(() => readAsync ? ReadEachAsync(inbound) : ReadAllAsync(inbound));
        }

        public static async Task<SwitchProbe> CreateAsync(bool readAsync)
        {
            var network = new MemoryNetwork();
            var ka = NodeKey.Generate();
            var kb = NodeKey.Generate();
            var descriptor = new ChannelDescriptor(ChannelId, 1) { SendQueueCapacity = 1024, RecvMessageCapacity = 2 << 20, RecvQueueBytes = 8 << 20 };
            var options = new SwitchOptions { Network = "alloc-probe", DialJitter = TimeSpan.Zero };
            var a = new Switch(network.CreateTransport(ka), ka, options);
            var b = new Switch(network.CreateTransport(kb), kb, options);
            a.OpenChannel(descriptor);
            var inbound = b.OpenChannel(descriptor);
            await a.StartAsync(null);
            await b.StartAsync(new IPEndPoint(IPAddress.Any, 0));
            var peer = await a.DialPeerAsync(b.ListenAddress!);
            return new SwitchProbe(a, b, peer, inbound, readAsync);
        }

        private async Task ReadAllAsync(AgentChannel inbound)
        {
            try
            {
                await foreach (var e in inbound.ReadAllAsync(_stop.Token)) Delivered(e.Message.Length);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ReadEachAsync(AgentChannel inbound)
        {
            try
            {
                while (true) Delivered((await inbound.ReadAsync(_stop.Token)).Message.Length);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private void Delivered(int length)
        {
            Interlocked.Add(ref _delivered, ArrayBytes(length));
            if (Interlocked.Decrement(ref _remaining) == 0) _done.TrySetResult();
        }

        public async Task<long> RoundAsync(byte[] message, int count)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _delivered, 0);
            Volatile.Write(ref _remaining, count);
            for (var i = 0; i < count; i++)
                if (!await _peer.SendAsync(ChannelId, message)) throw new InvalidOperationException("send failed");
            await _done.Task;
            return Volatile.Read(ref _delivered);
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _reading;
            await _a.DisposeAsync();
            await _b.DisposeAsync();
            _stop.Dispose();
        }
    }

    /// <summary>Sum of the values the --metrics listener received.</summary>
    private static long s_measured;

    /// <summary>--metrics: a listener on the Switch's meter taking every measurement (as an exporter would).</summary>
    private static MeterListener ListenToMetrics()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SwitchMetrics.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref s_measured, value));
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => Interlocked.Add(ref s_measured, value));
        listener.Start();
        return listener;
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
