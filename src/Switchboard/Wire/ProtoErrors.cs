using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Switchboard.Wire;

/// <summary>
/// Parsing of peer-supplied protobuf that fails only with the decoder's typed error. Google.Protobuf (3.25 to at
/// least 3.34) mishandles a length-delimited field that declares nearly int.MaxValue bytes: the limit it pushes
/// overflows, and it then allocates the declared length (up to 2 GiB for a 20-byte message) and throws
/// <see cref="IndexOutOfRangeException"/> or <see cref="ArgumentOutOfRangeException"/> instead of
/// <see cref="InvalidProtocolBufferException"/> (protocolbuffers/protobuf#26856, open). Found by fuzz/ (nodeinfo,
/// authsig, pex). <see cref="Parse"/> therefore walks the wire format first, exactly as the parser will (into the
/// fields that are messages, and into unknown groups), and refuses any length that runs past its enclosing bytes
/// before the parser sees them; honest messages always pass, since their lengths fit.
/// </summary>
internal static class ProtoErrors
{
    /// <summary>Protobuf's default recursion limit; deeper input fails in the parser anyway.</summary>
    private const int MaxDepth = 100;

    /// <summary>The bytes are not a valid encoding (a length past its end, a bad varint or wire type).</summary>
    internal sealed class MalformedException(string message) : Exception(message);

    /// <summary>True for the exceptions that mean "these bytes are not that message".</summary>
    public static bool IsMalformed(Exception exception) =>
        exception is InvalidProtocolBufferException or MalformedException
            // Belt and braces for #26856, should another path of the parser reach it.
            or IndexOutOfRangeException or ArgumentOutOfRangeException;

    /// <summary>Checks the wire structure of <paramref name="data"/>, then parses it.</summary>
    /// <exception cref="MalformedException">a length runs past its enclosing bytes, or the wire format is broken.</exception>
    /// <exception cref="InvalidProtocolBufferException">the parser refused it.</exception>
    public static T Parse<T>(MessageParser<T> parser, ReadOnlySpan<byte> data) where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        var descriptor = DescriptorCache<T>.Value ??= parser.ParseFrom(ReadOnlySpan<byte>.Empty).Descriptor;
        var position = 0;
        Walk(data, ref position, descriptor, endGroupField: 0, depth: 0);
        return parser.ParseFrom(data);
    }

    private static class DescriptorCache<T>
    {
        public static MessageDescriptor? Value;
    }

    /// <summary>
    /// Walks fields from <paramref name="position"/> to the end of <paramref name="data"/> (or, for a group, to its
    /// end-group tag, field <paramref name="endGroupField"/>). <paramref name="descriptor"/> is null inside unknown
    /// fields: there only groups are parsed by the runtime, length-delimited values are kept as bytes.
    /// </summary>
    private static void Walk(ReadOnlySpan<byte> data, ref int position, MessageDescriptor? descriptor, int endGroupField, int depth)
    {
        if (depth > MaxDepth) throw new MalformedException("nested deeper than the protobuf recursion limit");
        while (position < data.Length)
        {
            var key = ReadVarint(data, ref position);
            var field = key >> 3;
            var wireType = (int)(key & 7);
            if (field == 0 || field > int.MaxValue) throw new MalformedException($"invalid field number {field}");
            switch (wireType)
            {
                case 0:
                    ReadVarint(data, ref position);
                    break;
                case 1:
                    Skip(data, ref position, 8);
                    break;
                case 5:
                    Skip(data, ref position, 4);
                    break;
                case 2:
                    var length = ReadVarint(data, ref position);
                    if (length > (ulong)(data.Length - position))
                        throw new MalformedException($"field {field} declares {length} bytes, {data.Length - position} remain");
                    var body = data.Slice(position, (int)length);
                    position += (int)length;
                    if (descriptor?.FindFieldByNumber((int)field) is { FieldType: FieldType.Message } known)
                    {
                        var inner = 0;
                        Walk(body, ref inner, known.MessageType, endGroupField: 0, depth + 1);
                    }
                    break;
                case 3:
                    // The runtime parses a group (known or not) as nested fields up to its end-group tag.
                    Walk(data, ref position, descriptor: null, endGroupField: (int)field, depth + 1);
                    break;
                case 4:
                    if (endGroupField != (int)field) throw new MalformedException($"unexpected end-group {field}");
                    return;
                default:
                    throw new MalformedException($"invalid wire type {wireType}");
            }
        }
        if (endGroupField != 0) throw new MalformedException($"group {endGroupField} has no end");
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (position >= data.Length) throw new MalformedException("varint runs past the end");
            var b = data[position++];
            value |= shift < 64 ? (ulong)(b & 0x7F) << shift : 0;
            if (b < 0x80) return value;
        }
        throw new MalformedException("varint longer than 10 bytes");
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int position, int count)
    {
        if (data.Length - position < count) throw new MalformedException("fixed-width field runs past the end");
        position += count;
    }
}
