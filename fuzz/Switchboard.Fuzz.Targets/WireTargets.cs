using System.Buffers;
using Switchboard.Wire;

namespace Switchboard.Fuzz;

/// <summary>The framings a remote peer feeds straight into the MConnection and the handshakes.</summary>
internal static class WireTargets
{
    // Input layout of the packet targets: byte 0 picks the segment size of the sequence the codec reads from
    // (0 = one segment, else 1..255 bytes), the rest is the decrypted stream as a peer would send it.

    public static readonly FuzzTarget CometBftPacket = new(
        "packet-cometbft",
        "CometBftPacketCodec.TryRead over a stream of delimited tendermint.p2p.Packet (byte 0: segment size)",
        input => Packets(new CometBftPacketCodec(), input),
        ex => ex is ProtocolViolationException,
        FuzzTargets.Linear(64 * 1024, 64));

    public static readonly FuzzTarget LegacyPacket = new(
        "packet-legacy",
        "LegacyPacketCodec.TryRead over a stream of 2017-framing packets (byte 0: segment size)",
        input => Packets(new LegacyPacketCodec(), input),
        ex => ex is ProtocolViolationException,
        FuzzTargets.Linear(64 * 1024, 64));

    public static readonly FuzzTarget Delimited = new(
        "delimited",
        "Varint.TryRead (span and sequence agree) and Delimited.ReadAsync/ReadMessageAsync over a stream (byte 0: read size and limit)",
        DelimitedBody,
        ex => ex is ProtocolViolationException,
        // Delimited allocates the declared body (at most the limit) before reading it, by design: every caller's
        // limit is small (34, 103, 10240). Each message needs an input byte, so a run may cost a limit per byte;
        // the per-message check in DelimitedBody is the precise one.
        length => 64 * 1024 + (long)Math.Min(length, MaxMessages) * (2 * MaxLimit + MessageOverhead) + 64L * length);

    private const int MaxMessages = 64;
    private const int MaxLimit = 10240;

    /// <summary>What one read costs besides its body: the async state machine, a task, the parser.</summary>
    private const int MessageOverhead = 4096;

    private static void Packets(IPacketCodec codec, byte[] input)
    {
        if (input.Length == 0) return;
        var stream = new ReadOnlyMemory<byte>(input, 1, input.Length - 1);
        var buffer = Segments.Split(stream, input[0]);
        var scratch = new byte[codec.MaxPacketSize];
        // A non-minimal length prefix (Go accepts up to 10 bytes) may make a packet longer than MaxPacketSize.
        var longest = codec.MaxPacketSize + (codec is CometBftPacketCodec ? Varint.MaxLength : 0);
        while (true)
        {
            var before = buffer;
            if (!codec.TryRead(ref buffer, out var packet))
            {
                FuzzTargets.Check(buffer.Length == before.Length, "TryRead returned false but consumed bytes");
                // Everything left is a strict prefix of a packet: it must not be longer than the largest packet.
                FuzzTargets.Check(buffer.Length < longest, $"{buffer.Length} bytes buffered without a packet (longest {longest})");
                return;
            }
            var consumed = before.Length - buffer.Length;
            FuzzTargets.Check(consumed > 0, "TryRead returned a packet without consuming bytes");
            FuzzTargets.Check(consumed <= longest, $"a {consumed}-byte packet is above the longest {longest}");
            FuzzTargets.Check(packet.Kind is PacketKind.Ping or PacketKind.Pong or PacketKind.Msg, $"unknown kind {packet.Kind}");
            if (packet.Kind != PacketKind.Msg)
            {
                FuzzTargets.Check(packet.ChannelId == 0 && packet.Data.IsEmpty, "ping/pong with a channel or data");
                continue;
            }
            FuzzTargets.Check(packet.ChannelId is >= 0 and <= 255, $"channel {packet.ChannelId} outside 0..255");
            if (packet.Data.Length > codec.MaxPayloadSize) continue; // the MConnection refuses it; nothing to re-encode
            // Re-encoding what was decoded and decoding it again gives the same packet.
            var data = packet.Data.ToArray();
            var n = codec.WriteMsg(scratch, (byte)packet.ChannelId, packet.Eof, data);
            FuzzTargets.Check(n == codec.MsgPacketSize((byte)packet.ChannelId, packet.Eof, data.Length), "MsgPacketSize disagrees with WriteMsg");
            var again = new ReadOnlySequence<byte>(scratch, 0, n);
            FuzzTargets.Check(codec.TryRead(ref again, out var round) && again.IsEmpty, "a re-encoded packet does not decode");
            FuzzTargets.Check(round.Kind == PacketKind.Msg && round.ChannelId == packet.ChannelId && round.Eof == packet.Eof
                && round.Data.ToArray().AsSpan().SequenceEqual(data), "a re-encoded packet decodes differently");
        }
    }

    private static void DelimitedBody(byte[] input)
    {
        if (input.Length == 0) return;
        var rest = input.AsSpan(1);

        // 1. The span and sequence readers agree on every prefix position.
        var status = Varint.TryRead(rest, out var value, out var consumed);
        var reader = new SequenceReader<byte>(Segments.Split(input.AsMemory(1), (input[0] & 7) + 1));
        var seqStatus = Varint.TryRead(ref reader, out var seqValue);
        FuzzTargets.Check(status == seqStatus, $"span says {status}, sequence says {seqStatus}");
        if (status == OperationStatus.Done)
        {
            FuzzTargets.Check(seqValue == value && reader.Consumed == consumed, "span and sequence read different varints");
            FuzzTargets.Check(consumed is >= 1 and <= Varint.MaxLength, $"consumed {consumed}");
            Span<byte> encoded = stackalloc byte[Varint.MaxLength];
            var written = Varint.Write(encoded, value);
            FuzzTargets.Check(written == Varint.SizeOf(value) && written <= consumed, "Write/SizeOf disagree or the minimal form is longer");
            FuzzTargets.Check(Varint.TryRead(encoded[..written], out var round, out _) == OperationStatus.Done && round == value, "varint round trip");
        }
        else
        {
            FuzzTargets.Check(reader.Consumed == 0, "a failed sequence read advanced the reader");
        }

        // 2. Delimited messages until the stream ends (at most 64): short reads (byte 0 low bits), limits from 0 to 1 MiB.
        // The limits of the callers (ephemeral key 34, AuthSig 103, NodeInfo 10240), and 0 and 1024.
        var maxSize = ((input[0] >> 3) % 5) switch { 0 => 0, 1 => 34, 2 => 103, 3 => 1024, _ => MaxLimit };
        using var stream = new InputStream(input.AsMemory(1), (input[0] & 7) + 1);
        var typed = (input[0] & 0x80) != 0;
        for (var i = 0; i < MaxMessages && stream.Remaining > 0; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            if (typed)
            {
                var message = Switchboard.Wire.Delimited.ReadMessageAsync(stream, Google.Protobuf.WellKnownTypes.BytesValue.Parser, maxSize)
                    .AsTask().GetAwaiter().GetResult();
                FuzzTargets.Check(message.Value.Length <= maxSize, "BytesValue larger than its limit");
            }
            else
            {
                var body = Switchboard.Wire.Delimited.ReadAsync(stream, maxSize).AsTask().GetAwaiter().GetResult();
                FuzzTargets.Check(body.Length <= maxSize, $"a {body.Length}-byte body above the limit {maxSize}");
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            // The body, and for a parsed message its copy in the BytesValue.
            var allowed = (typed ? 2 : 1) * maxSize + MessageOverhead;
            FuzzTargets.Check(allocated <= allowed, $"one message with the limit {maxSize} allocated {allocated} bytes");
        }
    }
}
