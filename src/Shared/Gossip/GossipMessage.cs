using System.Buffers.Binary;
using System.Security.Cryptography;
using Switchboard.Crypto;

namespace Switchboard.Gossip;

/// <summary>
/// One gossip message as it travels: a hop header that every sender rewrites for the connection it sends on, the
/// origin's part that no relay changes, and a checksum over both.
/// <code>
/// offset size
///  0      1   version (1)
///  1      8   link id     ┐ hop header: a random id per (sender, connection) and the sender's count of messages
///  9      8   link seq    ┘ queued on that connection (0, 1, 2, …): lets the receiver check the channel's order
/// 17     20   origin node id            ┐
/// 37      8   epoch (origin's start)    │ origin part: written once by the origin and
/// 45      8   sequence (0, 1, … per     │ carried unchanged over every hop; (origin, epoch)
///             origin and epoch)         │ is a stream, sequence numbers it without gaps
/// 53      8   sent at (Unix ms)         │
/// 61      2   payload length n          │
/// 63      n   payload                   ┘
/// 63+n   16   checksum: the first 16 bytes of SHA-256 over bytes 0 … 63+n−1
/// </code>
/// All integers are big-endian. Every hop verifies the checksum before it relays, so a message damaged anywhere is
/// counted where it was damaged and never travels further.
/// </summary>
internal readonly struct GossipMessage
{
    public const byte Version = 1;

    private const int LinkIdOffset = 1, LinkSeqOffset = 9, OriginOffset = 17, EpochOffset = 37, SequenceOffset = 45,
        SentAtOffset = 53, LengthOffset = 61;

    /// <summary>63: the fixed fields before the payload.</summary>
    public const int HeaderSize = 63;

    /// <summary>16 bytes of SHA-256: a 2⁻¹²⁸ chance that a damaged message passes, at one hash per hop.</summary>
    public const int ChecksumSize = 16;

    /// <summary>79: the size of a message with an empty payload.</summary>
    public const int Overhead = HeaderSize + ChecksumSize;

    /// <summary>65535: the payload length is a u16.</summary>
    public const int MaxPayload = ushort.MaxValue;

    private readonly byte[] _bytes;

    private GossipMessage(byte[] bytes) => _bytes = bytes;

    /// <summary>The whole message, as last stamped.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;

    public NodeId Origin => NodeId.Parse(Convert.ToHexStringLower(_bytes.AsSpan(OriginOffset, NodeId.ByteLength)));

    public ulong Epoch => BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan(EpochOffset));

    public ulong Sequence => BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan(SequenceOffset));

    /// <summary>When the origin created the message (its wall clock).</summary>
    public DateTimeOffset SentAt => DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(_bytes.AsSpan(SentAtOffset)));

    public ulong LinkId => BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan(LinkIdOffset));

    public ulong LinkSequence => BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan(LinkSeqOffset));

    public ReadOnlyMemory<byte> Payload => _bytes.AsMemory(HeaderSize, _bytes.Length - Overhead);

    /// <summary>The stream key: origin and epoch.</summary>
    public GossipStreamId Stream => new(Origin, Epoch);

    /// <summary>A new message of <paramref name="origin"/>; the hop header is zero until <see cref="Stamp"/>.</summary>
    public static GossipMessage Create(NodeId origin, ulong epoch, ulong sequence, DateTimeOffset sentAt, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayload) throw new ArgumentException($"a gossip payload is at most {MaxPayload} bytes", nameof(payload));
        var bytes = new byte[Overhead + payload.Length];
        bytes[0] = Version;
        Convert.FromHexString(origin.Value, bytes.AsSpan(OriginOffset, NodeId.ByteLength), out _, out _);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(EpochOffset), epoch);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(SequenceOffset), sequence);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(SentAtOffset), sentAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(LengthOffset), (ushort)payload.Length);
        payload.CopyTo(bytes.AsSpan(HeaderSize));
        Seal(bytes);
        return new GossipMessage(bytes);
    }

    /// <summary>A copy with the hop header of one connection, checksummed again (the copy is what goes on that connection's queue).</summary>
    public GossipMessage Stamp(ulong linkId, ulong linkSequence)
    {
        var bytes = (byte[])_bytes.Clone();
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(LinkIdOffset), linkId);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(LinkSeqOffset), linkSequence);
        Seal(bytes);
        return new GossipMessage(bytes);
    }

    /// <summary>How a received message was judged.</summary>
    public enum ReadResult
    {
        Ok,

        /// <summary>Not a gossip message of this version: too short, another version, a length that does not match.</summary>
        Malformed,

        /// <summary>Well-formed, but the checksum does not match: damaged on the way.</summary>
        Corrupted,
    }

    /// <summary>Checks a received message; <paramref name="message"/> is set only for <see cref="ReadResult.Ok"/>.</summary>
    public static ReadResult TryRead(ReadOnlySpan<byte> bytes, out GossipMessage message)
    {
        message = default;
        if (bytes.Length < Overhead || bytes[0] != Version) return ReadResult.Malformed;
        if (BinaryPrimitives.ReadUInt16BigEndian(bytes[LengthOffset..]) != bytes.Length - Overhead) return ReadResult.Malformed;
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..^ChecksumSize], hash);
        if (!hash[..ChecksumSize].SequenceEqual(bytes[^ChecksumSize..])) return ReadResult.Corrupted;
        message = new GossipMessage(bytes.ToArray());
        return ReadResult.Ok;
    }

    private static void Seal(byte[] bytes)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - ChecksumSize), hash);
        hash[..ChecksumSize].CopyTo(bytes.AsSpan(bytes.Length - ChecksumSize));
    }
}

/// <summary>The messages of one origin between two of its restarts: numbered 0, 1, 2, … without gaps.</summary>
/// <param name="Origin">The node that created them.</param>
/// <param name="Epoch">The origin's start time in Unix milliseconds: a restarted origin starts a new stream.</param>
internal readonly record struct GossipStreamId(NodeId Origin, ulong Epoch)
{
    public override string ToString() => $"{Origin.Value[..Math.Min(12, Origin.Value.Length)]}/{Epoch}";
}
