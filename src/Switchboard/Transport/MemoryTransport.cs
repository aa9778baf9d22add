using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Transport;

/// <summary>
/// An in-process network of <see cref="MemoryTransport"/>s: addresses are (IP, port) pairs chosen by the
/// caller, connections are pipe pairs. Lets tests and simulations run hundreds of nodes in one process with the
/// real handshake, including the SecretConnection.
/// </summary>
public sealed class MemoryNetwork
{
    private readonly ConcurrentDictionary<IPEndPoint, MemoryTransport> _listeners = new();
    private int _nextEphemeralPort = 40000;
    private int _nextHost;

    /// <summary>Creates a transport in this network. Without <paramref name="ip"/> a fresh routable-looking IPv4 address is assigned.</summary>
    public MemoryTransport CreateTransport(NodeKey nodeKey, IPAddress? ip = null, TransportOptions? options = null, ILogger? logger = null) =>
        new(this, nodeKey, ip ?? NextAddress(), options, logger);

    // 100.64/10 (CGNAT) counts as routable in CometBFT's classification (PROTOCOL.md 4.3), and each host gets
    // its own /16 group so address-book placement behaves as on the internet.
    private IPAddress NextAddress()
    {
        var n = Interlocked.Increment(ref _nextHost);
        return new IPAddress([(byte)(100 + n / 65536 % 28), (byte)(64 + n / 256 % 64), (byte)(n % 256), 1]);
    }

    internal void Register(IPEndPoint endpoint, MemoryTransport transport)
    {
        if (!_listeners.TryAdd(endpoint, transport))
            throw new InvalidOperationException($"address {endpoint} is already in use in this memory network");
    }

    internal void Unregister(IPEndPoint endpoint) => _listeners.TryRemove(endpoint, out _);

    internal int NextEphemeralPort() => Interlocked.Increment(ref _nextEphemeralPort) % 20000 + 40000;

    internal bool TryGetListener(IPEndPoint endpoint, out MemoryTransport transport) =>
        _listeners.TryGetValue(endpoint, out transport!);
}

/// <summary>A transport whose connections are in-memory pipes inside one <see cref="MemoryNetwork"/>.</summary>
public sealed class MemoryTransport : ITransport, ICoreTransport
{
    private readonly MemoryNetwork _network;
    private readonly NodeKey _nodeKey;
    private readonly IPAddress _ip;
    private readonly TransportCore _core;

    TransportCore ICoreTransport.Core => _core;
    private readonly Channel<(Stream Stream, IPEndPoint Remote)> _pending =
        Channel.CreateBounded<(Stream, IPEndPoint)>(new BoundedChannelOptions(128) { FullMode = BoundedChannelFullMode.Wait });
    private IPEndPoint? _endpoint;
    private Task? _acceptLoop;

    internal MemoryTransport(MemoryNetwork network, NodeKey nodeKey, IPAddress ip, TransportOptions? options, ILogger? logger)
    {
        _network = network;
        _nodeKey = nodeKey;
        _ip = ip;
        _core = new TransportCore(nodeKey, options ?? new TransportOptions(), logger ?? NullLogger.Instance);
    }

    /// <summary>The IP address of this transport's host in the memory network.</summary>
    public IPAddress Ip => _ip;

    /// <inheritdoc/>
    public NetAddress? ListenAddress { get; private set; }

    /// <inheritdoc/>
    public NodeInfo? LocalNodeInfo { get => _core.LocalNodeInfo; set => _core.LocalNodeInfo = value; }

    /// <summary>Inbound upgrades in progress (tests).</summary>
    internal int PendingUpgrades => _core.PendingUpgrades;

    /// <summary>Listens on this transport's IP; the endpoint's address is ignored, its port is used (0 = pick one).</summary>
    public Task<NetAddress> ListenAsync(IPEndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (_endpoint is not null) throw new InvalidOperationException("already listening");
        var port = endpoint.Port != 0 ? endpoint.Port : _network.NextEphemeralPort();
        var ep = new IPEndPoint(_ip, port);
        _network.Register(ep, this);
        _endpoint = ep;
        ListenAddress = new NetAddress(_nodeKey.Id, _ip, (ushort)port);
        _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        return Task.FromResult(ListenAddress);
    }

    private async Task AcceptLoopAsync()
    {
        var token = _core.Closing;
        try
        {
            while (true)
            {
                await _core.AcquireInboundSlotAsync(token).ConfigureAwait(false);
                (Stream Stream, IPEndPoint Remote) next;
                try
                {
                    next = await _pending.Reader.ReadAsync(token).ConfigureAwait(false);
                }
                catch
                {
                    _core.ReleaseInboundSlot();
                    throw;
                }
                _core.HandleInbound(next.Stream, next.Remote);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            // Closed.
        }
    }

    internal ValueTask<bool> OfferAsync(Stream serverSide, IPEndPoint remote, CancellationToken cancellationToken)
    {
        if (_pending.Writer.TryWrite((serverSide, remote))) return ValueTask.FromResult(true);
        return WaitAsync();

        async ValueTask<bool> WaitAsync()
        {
            try
            {
                await _pending.Writer.WriteAsync((serverSide, remote), cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (ChannelClosedException)
            {
                return false;
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask<TransportConnection> AcceptAsync(CancellationToken cancellationToken = default) =>
        _core.AcceptAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask<TransportConnection> DialAsync(NetAddress address, CancellationToken cancellationToken = default) =>
        _core.DialAsync(address, async token =>
        {
            if (!_network.TryGetListener(new IPEndPoint(address.Ip, address.Port), out var listener))
                throw new IOException($"connection refused: nothing listens on {address.DialString} in this memory network");
            var (client, server) = MemoryDuplexStream.CreatePair();
            var local = new IPEndPoint(_ip, _network.NextEphemeralPort());
            if (!await listener.OfferAsync(server, local, token).ConfigureAwait(false))
            {
                await client.DisposeAsync().ConfigureAwait(false);
                await server.DisposeAsync().ConfigureAwait(false);
                throw new IOException($"connection refused: {address.DialString} closed");
            }
            return client;
        }, cancellationToken);

    /// <summary>Stops listening and closes pending and handshaking connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_endpoint is not null) _network.Unregister(_endpoint);
        _pending.Writer.TryComplete();
        var disposing = _core.DisposeAsync();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        while (_pending.Reader.TryRead(out var p)) await p.Stream.DisposeAsync().ConfigureAwait(false);
        await disposing.ConfigureAwait(false);
    }
}

/// <summary>One end of an in-memory full-duplex byte stream (two pipes).</summary>
internal sealed class MemoryDuplexStream : Stream
{
    // 1 MiB per direction before a writer waits: roughly a socket buffer pair, so back-pressure behaves like TCP.
    private const long PauseThreshold = 1 << 20;
    // 64 KiB pipe segments (an MConnection's whole write buffer): a full pipe is then about 17 segments. With the
    // pipe's default 4 KiB it was 256, rented from the shared array pool on the writer's thread and returned on the
    // reader's — more than the pool keeps, so in steady state most writes allocated fresh segment arrays (and
    // BufferSegments beyond the pipe's own pool of 256). A drained pipe holds no segment either way.
    private const int SegmentSize = 64 * 1024;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private int _disposed;

    private MemoryDuplexStream(PipeReader reader, PipeWriter writer)
    {
        _reader = reader;
        _writer = writer;
    }

    public static (MemoryDuplexStream A, MemoryDuplexStream B) CreatePair()
    {
        var options = new PipeOptions(pauseWriterThreshold: PauseThreshold, resumeWriterThreshold: PauseThreshold / 2,
            minimumSegmentSize: SegmentSize, useSynchronizationContext: false);
        var ab = new Pipe(options);
        var ba = new Pipe(options);
        return (new MemoryDuplexStream(ba.Reader, ab.Writer), new MemoryDuplexStream(ab.Reader, ba.Writer));
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    // Pooled: a read that waits for the writer (and a write that waits for the reader) does not allocate its state machine.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0) return 0;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                throw new ObjectDisposedException("stream closed", ex);
            }
            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                var n = (int)Math.Min(buffer.Length, data.Length);
                data.Slice(0, n).CopyTo(buffer.Span);
                _reader.AdvanceTo(data.GetPosition(n));
                return n;
            }
            _reader.AdvanceTo(data.End);
            if (result.IsCompleted || result.IsCanceled) return 0;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        FlushResult result;
        try
        {
            result = await _writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            throw new IOException("connection closed", ex);
        }
        if (result.IsCompleted) throw new IOException("connection reset by peer");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Completing both ends tells the remote reader "EOF" and the remote writer "reset".
            _writer.Complete();
            _reader.CancelPendingRead();
            _reader.Complete();
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
