using System.Buffers;
using System.Collections.Concurrent;
using Switchboard.Conn;
using Switchboard.Tests.Support;
using Switchboard.Wire;

namespace Switchboard.Tests.Conn;

/// <summary>Records what an MConnection delivers; an optional hook runs after a message is recorded.</summary>
internal sealed class RecordingHandler : IMConnectionHandler
{
    private readonly ConcurrentQueue<(byte Channel, byte[] Data)> _messages = new();
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closedCount;

    public Func<byte, ReadOnlyMemory<byte>, CancellationToken, ValueTask>? OnMessage { get; set; }

    public (byte Channel, byte[] Data)[] Messages => _messages.ToArray();

    public int Count => _messages.Count;

    public int ClosedCount => Volatile.Read(ref _closedCount);

    public Task<Exception?> Closed => _closed.Task;

    public async ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        _messages.Enqueue((channelId, message.ToArray()));
        if (OnMessage is not null) await OnMessage(channelId, message, cancellationToken);
    }

    public void OnClosed(Exception? error)
    {
        Interlocked.Increment(ref _closedCount);
        _closed.TrySetResult(error);
    }
}

/// <summary>A stream that passes everything to <paramref name="inner"/>; tests override the writes they watch.</summary>
internal abstract class PassThroughStream(Stream inner) : Stream
{
    protected Stream Inner { get; } = inner;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        Inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Inner.FlushAsync(cancellationToken);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => Inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => Inner.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) Inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>A stream whose writes wait for <see cref="Open"/>: lets a test hold the send loop inside a write.</summary>
internal sealed class GatedStream(Stream inner) : PassThroughStream(inner)
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _writesStarted;

    public int WritesStarted => Volatile.Read(ref _writesStarted);

    /// <summary>True once the connection disposed its transport.</summary>
    public bool Disposed { get; private set; }

    public void Open() => _gate.TrySetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _writesStarted);
        await _gate.Task.WaitAsync(cancellationToken);
        await Inner.WriteAsync(buffer, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Disposed = true;
        base.Dispose(disposing);
    }
}

internal static class MConnectionKit
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static byte[] Pattern(int length) => Enumerable.Range(0, length).Select(i => (byte)i).ToArray();

    /// <summary>A started connection whose peer is a raw stream the test reads and writes.</summary>
    public static (MConnection Conn, RecordingHandler Handler, Stream Raw) WithRawPeer(
        ChannelDescriptor[] channels, MConnectionOptions? options = null, Func<Stream, Stream>? wrap = null)
    {
        var (a, b) = DuplexPipe.CreatePair();
        var handler = new RecordingHandler();
        var conn = new MConnection(wrap is null ? a : wrap(a), channels, handler, options);
        conn.Start();
        return (conn, handler, b);
    }

    /// <summary>Two started connections talking to each other.</summary>
    public static (MConnection A, RecordingHandler HA, MConnection B, RecordingHandler HB) Pair(
        ChannelDescriptor[] channels, MConnectionOptions? optionsA = null, MConnectionOptions? optionsB = null,
        Func<Stream, Stream>? wrapA = null)
    {
        var (a, b) = DuplexPipe.CreatePair();
        var ha = new RecordingHandler();
        var hb = new RecordingHandler();
        var ca = new MConnection(wrapA is null ? a : wrapA(a), channels, ha, optionsA);
        var cb = new MConnection(b, channels, hb, optionsB ?? optionsA);
        ca.Start();
        cb.Start();
        return (ca, ha, cb, hb);
    }

    public static async Task<byte[]> ReadExactlyAsync(Stream raw, int count)
    {
        var buffer = new byte[count];
        await raw.ReadExactlyAsync(buffer).AsTask().WaitAsync(Timeout);
        return buffer;
    }

    /// <summary>Writes <paramref name="message"/> as the peer would: fragments of at most 1024 bytes, EOF on the last.</summary>
    public static async Task WriteMessageAsync(Stream raw, byte channel, byte[] message)
    {
        var codec = new CometBftPacketCodec();
        var buffer = new byte[(message.Length / 1024 + 1) * (codec.MaxPacketSize + 16)];
        var length = 0;
        var offset = 0;
        do
        {
            var take = Math.Min(1024, message.Length - offset);
            var eof = offset + take == message.Length;
            length += codec.WriteMsg(buffer.AsSpan(length), channel, eof, message.AsSpan(offset, take));
            offset += take;
        }
        while (offset < message.Length);
        await raw.WriteAsync(buffer.AsMemory(0, length));
        await raw.FlushAsync();
    }

    public static async Task WriteHexAsync(Stream raw, string hex)
    {
        await raw.WriteAsync(Vectors.Hex(hex));
        await raw.FlushAsync();
    }

    /// <summary>Reads from the raw peer until <paramref name="count"/> whole packets arrived; returns them and the bytes.</summary>
    public static async Task<(List<(PacketKind Kind, int Channel, bool Eof, byte[] Data)> Packets, byte[] Bytes)> ReadPacketsAsync(
        Stream raw, int count, IPacketCodec? codec = null)
    {
        codec ??= new CometBftPacketCodec();
        var received = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var bytes = received.ToArray();
            var seq = new System.Buffers.ReadOnlySequence<byte>(bytes);
            var packets = new List<(PacketKind, int, bool, byte[])>();
            while (codec.TryRead(ref seq, out var p)) packets.Add((p.Kind, p.ChannelId, p.Eof, p.Data.ToArray()));
            if (packets.Count >= count) return (packets, bytes);
            var n = await raw.ReadAsync(chunk).AsTask().WaitAsync(Timeout);
            if (n == 0) throw new EndOfStreamException($"got {packets.Count} of {count} packets");
            received.Write(chunk, 0, n);
        }
    }

    public static async Task<TException> ClosedWithAsync<TException>(RecordingHandler handler, MConnection conn) where TException : Exception
    {
        var error = await Eventually.WithinAsync(handler.Closed, "OnClosed", Timeout);
        await Eventually.WithinAsync(conn.Completion, "Completion", Timeout);
        Assert.Equal(1, handler.ClosedCount);
        Assert.False(conn.IsRunning);
        return Assert.IsType<TException>(error);
    }
}
