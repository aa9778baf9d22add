using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Conn;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// Diagnostic reactor behind <c>start --echo CH</c>: every message received on its channel goes back to its sender
/// unchanged, in order. <c>switchboard send</c> measures throughput and latency against it.
/// </summary>
internal sealed class EchoReactor(byte channel, ILogger logger) : Reactor("echo")
{
    /// <summary>
    /// 4 MiB: room for the 1 MiB messages <c>send</c> is typically run with (four times over), while keeping what one
    /// peer can make us hold bounded (the library default would be 21 MiB per message).
    /// </summary>
    public const int MaxMessageSize = 4 * 1024 * 1024;

    /// <summary>64: echoes queued per peer; deep enough for a sender's window of 64.</summary>
    public const int SendQueueCapacity = 64;

    /// <summary>
    /// 8 MiB of a peer's messages may wait for the echo loop: two of the largest, or a window of small ones. Beyond it
    /// the peer's reads pause (back-pressure: an echo service loses nothing), bounded by the connection's
    /// max_read_pause.
    /// </summary>
    public const int RecvQueueBytes = 8 * 1024 * 1024;

    public byte Channel { get; } = channel;

    /// <summary>Echoes sent back.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    private long _echoed;

    public override IReadOnlyList<ChannelDescriptor> GetChannels() =>
    [
        // Priority 1: it is the only channel of a diagnostic node, so its share does not matter.
        new ChannelDescriptor(Channel, Priority: 1)
        {
            SendQueueCapacity = SendQueueCapacity,
            RecvMessageCapacity = MaxMessageSize,
            RecvQueueBytes = RecvQueueBytes,
            FullMode = ChannelFullMode.BackPressure,
        },
    ];

    public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        // The envelope's bytes belong to us (Envelope docs), so they can be queued back as they are. Reply never waits:
        // one peer that stops reading its echoes cannot hold up the echo loop all peers share — its send queue (64
        // echoes, and its byte budget) fills and Reply disconnects it.
        if (envelope.Reply(envelope.Message))
        {
            Interlocked.Increment(ref _echoed);
        }
        else if (envelope.Source.IsRunning)
        {
            CliLog.EchoDropped(logger, envelope.Source.Id.ToString(), Addresses.FormatChannel(Channel));
        }
        return ValueTask.CompletedTask;
    }
}
