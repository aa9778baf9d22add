using System.Buffers;
using BenchmarkDotNet.Attributes;
using Switchboard.Conn;
using Switchboard.Wire;

namespace Switchboard.Benchmarks;

/// <summary>
/// Packet encode/decode for both framings on the hot-path shapes: a full 1024-byte fragment, a small message, and a
/// full packet split across two pipe segments. Every one must allocate 0 bytes (checked in GlobalSetup too).
/// </summary>
[MemoryDiagnoser]
public class PacketCodecBenchmarks
{
    private IPacketCodec _codec = null!;
    private readonly byte[] _payload = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
    private readonly byte[] _out = new byte[4096];
    private ReadOnlySequence<byte> _full;
    private ReadOnlySequence<byte> _small;
    private ReadOnlySequence<byte> _split;

    [Params(PacketFraming.CometBft, PacketFraming.Legacy)]
    public PacketFraming Framing { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _codec = PacketCodec.Create(Framing, 1024);
        var full = _out.AsSpan(0, _codec.WriteMsg(_out, 0x20, true, _payload)).ToArray();
        var small = _out.AsSpan(0, _codec.WriteMsg(_out, 0x30, false, _payload.AsSpan(0, 40))).ToArray();
        _full = new ReadOnlySequence<byte>(full);
        _small = new ReadOnlySequence<byte>(small);
        _split = Segments.Split(full, full.Length / 2);

        // Output check: what was encoded decodes back to the same fields and bytes, also when split.
        foreach (var (seq, channel, eof, length) in new[] { (_full, 0x20, true, 1024), (_small, 0x30, false, 40), (_split, 0x20, true, 1024) })
        {
            var s = seq;
            if (!_codec.TryRead(ref s, out var p) || !s.IsEmpty || p.ChannelId != channel || p.Eof != eof
                || !p.Data.ToArray().AsSpan().SequenceEqual(_payload.AsSpan(0, length)))
                throw new InvalidOperationException($"{Framing} codec round trip failed");
        }
        // Zero allocation in steady state, measured directly so a regression fails before any numbers print.
        for (var i = 0; i < 100; i++) RunAll();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++) RunAll();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated != 0) throw new InvalidOperationException($"{Framing} codec allocated {allocated} bytes in 10,000 rounds");
    }

    private void RunAll()
    {
        EncodeFull();
        EncodeSmall();
        EncodePing();
        DecodeFull();
        DecodeSmall();
        DecodeSplit();
    }

    [Benchmark]
    public int EncodeFull() => _codec.WriteMsg(_out, 0x20, true, _payload);

    [Benchmark]
    public int EncodeSmall() => _codec.WriteMsg(_out, 0x30, false, _payload.AsSpan(0, 40));

    [Benchmark]
    public int EncodePing() => _codec.WritePing(_out);

    [Benchmark]
    public long DecodeFull()
    {
        var seq = _full;
        _codec.TryRead(ref seq, out var p);
        return p.Data.Length + p.ChannelId;
    }

    [Benchmark]
    public long DecodeSmall()
    {
        var seq = _small;
        _codec.TryRead(ref seq, out var p);
        return p.Data.Length + p.ChannelId;
    }

    [Benchmark]
    public long DecodeSplit()
    {
        var seq = _split;
        _codec.TryRead(ref seq, out var p);
        return p.Data.Length + p.ChannelId;
    }
}

internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] data, int at)
    {
        var first = new Segment(data.AsMemory(0, at));
        var second = first.Append(new Segment(data.AsMemory(at)));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
            return next;
        }
    }
}
