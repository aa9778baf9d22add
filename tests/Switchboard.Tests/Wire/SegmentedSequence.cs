using System.Buffers;

namespace Switchboard.Tests.Wire;

/// <summary>Builds multi-segment sequences, to exercise decoders on data split the way a pipe may split it.</summary>
internal static class SegmentedSequence
{
    public static ReadOnlySequence<byte> Create(ReadOnlyMemory<byte> data, params int[] cuts)
    {
        var points = cuts.Where(c => c > 0 && c < data.Length).Distinct().Order().ToList();
        if (points.Count == 0) return new ReadOnlySequence<byte>(data);
        Segment? first = null, last = null;
        var start = 0;
        foreach (var end in points.Append(data.Length))
        {
            var segment = new Segment(data[start..end]);
            if (first is null) first = last = segment;
            else last = last!.Append(segment);
            start = end;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    public static ReadOnlySequence<byte> RandomlySplit(byte[] data, Random random)
    {
        var count = random.Next(0, Math.Min(8, data.Length + 1));
        var cuts = Enumerable.Range(0, count).Select(_ => random.Next(0, data.Length + 1)).ToArray();
        return Create(data, cuts);
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
