using System.Buffers;
using Switchboard.Wire;

namespace Switchboard.Tests.Wire;

/// <summary>Hostile input: whatever the bytes, a decoder returns, asks for more, or throws ProtocolViolationException.</summary>
public class PacketCodecFuzzTests
{
    public static TheoryData<string> Codecs() => new() { "cometbft", "legacy" };

    private static IPacketCodec Create(string name) => name == "legacy" ? new LegacyPacketCodec() : new CometBftPacketCodec();

    [Theory]
    [MemberData(nameof(Codecs))]
    public void RandomGarbageOnlyEverThrowsProtocolViolation(string name)
    {
        var codec = Create(name);
        var random = new Random(name.Length * 7919 + 1);
        var outcomes = new int[3];
        for (var i = 0; i < 20_000; i++)
        {
            var input = new byte[random.Next(0, i % 10 == 0 ? 2048 : 48)];
            random.NextBytes(input);
            if (i % 3 == 0 && input.Length > 0)
                input[0] = (byte)random.Next(0, 4); // small prefixes / valid type bytes get past the first check
            outcomes[Run(codec, SegmentedSequence.RandomlySplit(input, random))]++;
        }
        // The generator must reach every outcome, or the test proves little.
        Assert.True(outcomes[0] > 100 && outcomes[1] > 100, string.Join(",", outcomes));
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void MutatedValidPacketsOnlyEverThrowProtocolViolation(string name)
    {
        var codec = Create(name);
        var random = new Random(name.Length * 104729 + 3);
        var buffer = new byte[codec.MaxPacketSize * 3];
        for (var i = 0; i < 20_000; i++)
        {
            var data = new byte[random.Next(0, 80)];
            random.NextBytes(data);
            var n = codec.WriteMsg(buffer, (byte)random.Next(256), random.Next(2) == 1, data);
            n += codec.WritePing(buffer.AsSpan(n));
            n += codec.WriteMsg(buffer.AsSpan(n), (byte)random.Next(256), true, data.AsSpan(0, data.Length / 2));
            var input = buffer.AsSpan(0, n).ToArray();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                input[random.Next(input.Length)] = (byte)random.Next(256);
            Run(codec, SegmentedSequence.RandomlySplit(input, random));
        }
    }

    /// <summary>0 = threw a protocol violation, 1 = needs more bytes, 2 = consumed everything.</summary>
    private static int Run(IPacketCodec codec, ReadOnlySequence<byte> sequence)
    {
        try
        {
            while (true)
            {
                var before = sequence.Length;
                if (!codec.TryRead(ref sequence, out var packet))
                {
                    Assert.Equal(before, sequence.Length);
                    return 1;
                }
                Assert.True(sequence.Length < before, "a decoded packet must consume bytes");
                Assert.InRange(packet.ChannelId, 0, 255);
                Assert.True(packet.Data.Length <= codec.MaxPayloadSize);
                if (sequence.IsEmpty) return 2;
            }
        }
        catch (ProtocolViolationException)
        {
            return 0;
        }
    }
}
