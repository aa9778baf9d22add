using System.Buffers;
using Google.Protobuf;

namespace Switchboard.Wire;

/// <summary>
/// Length-delimited protobuf messages (<c>uvarint(len) ‖ body</c>, CometBFT's libs/protoio) over a
/// <see cref="Stream"/>. Used by the handshakes, where a few messages are exchanged; the MConnection hot path
/// decodes packets from pipes instead. The declared length is checked against the caller's limit before any
/// body byte is read or any buffer is allocated.
/// </summary>
internal static class Delimited
{
    /// <summary>Reads one delimited body of at most <paramref name="maxSize"/> bytes.</summary>
    /// <exception cref="ProtocolViolationException">bad varint, over the limit, or the stream ended early.</exception>
    public static async ValueTask<byte[]> ReadAsync(Stream stream, int maxSize, CancellationToken cancellationToken = default)
    {
        var one = new byte[1];
        ulong length = 0;
        var shift = 0;
        for (var i = 0; ; i++)
        {
            var n = await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false);
            if (n == 0)
                throw new ProtocolViolationException(ProtocolViolation.Truncated,
                    i == 0 ? "stream closed before a message" : "stream closed inside a length prefix");
            var b = one[0];
            if (i == Varint.MaxLength - 1 && b > 1)
                throw new ProtocolViolationException(ProtocolViolation.MalformedVarint, "length prefix overflows 64 bits");
            length |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) break;
            shift += 7;
            if (i == Varint.MaxLength - 1)
                throw new ProtocolViolationException(ProtocolViolation.MalformedVarint, "length prefix longer than 10 bytes");
        }
        if (length > (ulong)maxSize)
            throw new ProtocolViolationException(ProtocolViolation.MessageTooLarge,
                $"message of {length} bytes exceeds the limit of {maxSize}");
        var body = new byte[(int)length];
        try
        {
            await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolViolationException(ProtocolViolation.Truncated, "stream closed inside a message", ex);
        }
        return body;
    }

    /// <summary>Reads and parses one delimited message.</summary>
    public static async ValueTask<T> ReadMessageAsync<T>(Stream stream, MessageParser<T> parser, int maxSize,
        CancellationToken cancellationToken = default) where T : IMessage<T>
    {
        var body = await ReadAsync(stream, maxSize, cancellationToken).ConfigureAwait(false);
        try
        {
            return ProtoErrors.Parse(parser, body);
        }
        catch (Exception ex) when (ProtoErrors.IsMalformed(ex))
        {
            throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, $"cannot decode {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    /// <summary>Encodes <paramref name="message"/> with its length prefix into a new array (one write on the wire).</summary>
    public static byte[] Encode(IMessage message)
    {
        var size = message.CalculateSize();
        var buffer = new byte[Varint.SizeOf((ulong)size) + size];
        var prefix = Varint.Write(buffer, (ulong)size);
        message.WriteTo(buffer.AsSpan(prefix));
        return buffer;
    }

    /// <summary>Appends <paramref name="message"/> with its length prefix to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        var total = Varint.SizeOf((ulong)size) + size;
        var span = writer.GetSpan(total);
        var prefix = Varint.Write(span, (ulong)size);
        message.WriteTo(span.Slice(prefix, size));
        writer.Advance(total);
    }
}
