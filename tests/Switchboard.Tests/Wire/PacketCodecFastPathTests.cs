using System.Buffers;
using Switchboard.Conn;
using Switchboard.Wire;

namespace Switchboard.Tests.Wire;

/// <summary>
/// The decoder's single-segment fast path (canonical packets) must decide exactly as the general decoder does. The
/// same bytes are decoded whole (fast path eligible) and cut into one-byte segments (general path only), and the
/// outcomes — packet, bytes consumed, or the typed error — must agree, for canonical packets and mutations of them.
/// </summary>
public class PacketCodecFastPathTests
{
    private static readonly CometBftPacketCodec Codec = new();

    [Fact]
    public void CanonicalAndMutatedPacketsDecodeTheSameWholeAndInOneByteSegments()
    {
        var random = new Random(8439);
        var buffer = new byte[Codec.MaxPacketSize + 16];
        for (var trial = 0; trial < 20_000; trial++)
        {
            int length;
            switch (random.Next(10))
            {
                case 0: length = Codec.WritePing(buffer); break;
                case 1: length = Codec.WritePong(buffer); break;
                default:
                    var data = new byte[random.Next(4) == 0 ? random.Next(0, 3) : random.Next(0, Codec.MaxPayloadSize + 1)];
                    random.NextBytes(data);
                    length = Codec.WriteMsg(buffer, (byte)random.Next(256), random.Next(2) == 0, data);
                    break;
            }
            var wire = buffer.AsSpan(0, length).ToArray();
            if (trial % 2 == 1)
            {
                // Mutate a few bytes near the front (where the keys and lengths are), or truncate, or append.
                for (var m = random.Next(1, 4); m > 0; m--)
                    wire[random.Next(Math.Min(wire.Length, 12))] = (byte)random.Next(256);
                if (random.Next(4) == 0) wire = wire[..random.Next(wire.Length)];
                if (random.Next(4) == 0) wire = [.. wire, .. new byte[] { 0x0a, 0x00 }];
            }
            Assert.Equal(Decode(new ReadOnlySequence<byte>(wire)), Decode(SegmentedSequence.Create(wire, Enumerable.Range(1, Math.Max(0, wire.Length - 1)).ToArray())));
        }
    }

    [Theory]
    [InlineData("020a00")]                      // ping
    [InlineData("021200")]                      // pong
    [InlineData("021a00")]                      // msg with no fields: channel 0, no eof, no data
    [InlineData("0a1a080801100a1a020102")]      // eof field with value 10: not canonical, decoded by the general path
    [InlineData("0a1a08100108011a020102")]      // eof before channel: reordered fields
    [InlineData("081a06080218020102")]          // unknown field 3 varint inside the msg
    [InlineData("051a03088002")]                // channel 256: rejected as unknown
    [InlineData("ffff03")]                      // oversize prefix
    public void EdgeCasesAgree(string hex)
    {
        var wire = Convert.FromHexString(hex);
        Assert.Equal(Decode(new ReadOnlySequence<byte>(wire)), Decode(SegmentedSequence.Create(wire, Enumerable.Range(1, wire.Length - 1).ToArray())));
    }

    private static string Decode(ReadOnlySequence<byte> sequence)
    {
        try
        {
            var before = sequence.Length;
            if (!Codec.TryRead(ref sequence, out var packet)) return "need more";
            return $"{packet.Kind} ch={packet.ChannelId} eof={packet.Eof} data={Convert.ToHexString(packet.Data.ToArray())} used={before - sequence.Length}";
        }
        catch (ProtocolViolationException ex)
        {
            return "violation " + ex.Violation;
        }
    }
}
