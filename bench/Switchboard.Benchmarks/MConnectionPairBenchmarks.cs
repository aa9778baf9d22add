using Switchboard.Transport;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Switchboard.Conn;

namespace Switchboard.Benchmarks;

/// <summary>
/// Throughput of two MConnections over in-memory pipes, against the same bytes pushed through the same kind of
/// pipe with no MConnection (the baseline, for the ratio column). Each operation moves about 4 MiB. The memory
/// diagnoser's Allocated is per operation; the "Alloc/packet" column divides it by the packets an operation moves
/// (1024-byte fragments), and GlobalSetup prints the same figure measured directly in steady state.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerPacketConfig))]
public class MConnectionPairBenchmarks
{
    /// <summary>Packets of one MConnectionPair operation: messages per operation × fragments per message.</summary>
    public static long PacketsPerOperation(int messageSize) =>
        MessagesPerOperation(messageSize) * Math.Max(1, (messageSize + PacketPayload - 1) / PacketPayload);

    private static int MessagesPerOperation(int messageSize) => (int)Math.Max(4, BytesPerOperation / messageSize);

    // 1024: CometBFT's max_packet_msg_payload_size, MConnectionOptions' default.
    private const int PacketPayload = 1024;

    public sealed class PerPacketConfig : ManualConfig
    {
        public PerPacketConfig() => AddColumn(new PerPacketAllocationColumn(c =>
            c.Descriptor.WorkloadMethod.Name == nameof(MConnectionPair) && c.Parameters["MessageSize"] is int size
                ? PacketsPerOperation(size)
                : 0));
    }

    private const long BytesPerOperation = 4L << 20;
    private const byte ChannelId = 0x20;

    private MConnection _sender = null!;
    private MConnection _receiver = null!;
    private CountingHandler _receiving = null!;
    private byte[] _message = [];
    private int _messagesPerOperation;
    private Stream _rawWriter = null!;
    private Stream _rawReader = null!;
    private byte[] _rawReadBuffer = [];

    [Params(256, 1024, 64 * 1024, 1024 * 1024)]
    public int MessageSize { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _message = Enumerable.Range(0, MessageSize).Select(i => (byte)(i * 7)).ToArray();
        _messagesPerOperation = MessagesPerOperation(MessageSize);
        var (a, b) = MemoryDuplexStream.CreatePair();
        var channels = new[] { new ChannelDescriptor(ChannelId, 1) { SendQueueCapacity = 1024, RecvMessageCapacity = 2 << 20 } };
        _receiving = new CountingHandler();
        _sender = new MConnection(a, channels, new CountingHandler());
        _receiver = new MConnection(b, channels, _receiving);
        _sender.Start();
        _receiver.Start();

        // Output check: one message arrives intact on the right channel.
        _receiving.Expect(1, keepCopy: true);
        if (!await _sender.SendAsync(ChannelId, _message)) throw new InvalidOperationException("send failed");
        await _receiving.Done.WaitAsync(TimeSpan.FromSeconds(30));
        if (_receiving.LastChannel != ChannelId || !_receiving.LastMessage.AsSpan().SequenceEqual(_message))
            throw new InvalidOperationException("the MConnection pair delivered wrong bytes");

        var raw = new Pipe(new PipeOptions(useSynchronizationContext: false));
        _rawWriter = raw.Writer.AsStream();
        _rawReader = raw.Reader.AsStream();
        _rawReadBuffer = new byte[64 * 1024];
        var total = await RawPipe();
        if (total != (long)_messagesPerOperation * MessageSize) throw new InvalidOperationException("raw pipe lost bytes");

        // Steady-state allocation per packet, both ends and every thread: two warm-up operations, then three measured.
        await MConnectionPair();
        await MConnectionPair();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < 3; i++) await MConnectionPair();
        var perPacket = (GC.GetTotalAllocatedBytes(precise: true) - before) / (3.0 * PacketsPerOperation(MessageSize));
        Console.WriteLine($"// MConnectionPair {MessageSize} B messages: {perPacket:0.0} B allocated per packet in steady state " +
            $"({PacketsPerOperation(MessageSize)} packets per operation)");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _sender.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<long> RawPipe()
    {
        var total = (long)_messagesPerOperation * MessageSize;
        var reading = Task.Run(async () =>
        {
            long got = 0;
            while (got < total) got += await _rawReader.ReadAsync(_rawReadBuffer);
            return got;
        });
        for (var i = 0; i < _messagesPerOperation; i++) await _rawWriter.WriteAsync(_message);
        await _rawWriter.FlushAsync();
        return await reading;
    }

    [Benchmark]
    public async Task<long> MConnectionPair()
    {
        _receiving.Expect(_messagesPerOperation, keepCopy: false);
        for (var i = 0; i < _messagesPerOperation; i++)
            if (!await _sender.SendAsync(ChannelId, _message)) throw new InvalidOperationException("send failed");
        await _receiving.Done;
        return (long)_messagesPerOperation * MessageSize;
    }

    private sealed class CountingHandler : IMConnectionHandler
    {
        private int _remaining;
        private bool _keepCopy;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Done => _done.Task;
        public byte LastChannel { get; private set; }
        public byte[] LastMessage { get; private set; } = [];

        public void Expect(int messages, bool keepCopy)
        {
            _keepCopy = keepCopy;
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _remaining, messages);
        }

        public ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            if (_keepCopy)
            {
                LastChannel = channelId;
                LastMessage = message.ToArray();
            }
            if (Interlocked.Decrement(ref _remaining) == 0) _done.TrySetResult();
            return ValueTask.CompletedTask;
        }

        public void OnClosed(Exception? error)
        {
            if (error is not null) _done.TrySetException(error);
        }
    }
}

/// <summary>An in-memory full-duplex stream pair over two pipes (what a socket looks like to both ends).</summary>
