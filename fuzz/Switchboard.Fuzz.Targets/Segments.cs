using System.Buffers;

namespace Switchboard.Fuzz;

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/> so that decoders meet values split across segments.</summary>
internal static class Segments
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    /// <summary>
    /// <paramref name="data"/> cut into segments of <paramref name="size"/> bytes (the last one shorter);
    /// <paramref name="size"/> 0 means one segment.
    /// </summary>
    public static ReadOnlySequence<byte> Split(ReadOnlyMemory<byte> data, int size)
    {
        if (size <= 0 || data.Length <= size) return new ReadOnlySequence<byte>(data);
        var first = new Segment(data[..size], 0);
        var last = first;
        for (var offset = size; offset < data.Length; offset += size)
            last = last.Append(data.Slice(offset, Math.Min(size, data.Length - offset)));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
