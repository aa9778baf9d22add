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

    /// <summary>64: echoes queued per peer before <c>SendAsync</c> waits; deep enough for a sender's window of 64.</summary>
    public const int SendQueueCapacity = 64;

    public byte Channel { get; } = channel;

    /// <summary>Echoes sent back.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    private long _echoed;

    /// <summary>
    /// 64 instead of 1024: with messages up to <see cref="MaxMessageSize"/> this bounds the queue at 256 MiB; back-pressure
    /// (the default) then pauses the senders' connections rather than dropping anything.
    /// </summary>
    public override InboundQueueOptions InboundQueue { get; } = new() { Capacity = 64 };

    public override IReadOnlyList<ChannelDescriptor> GetChannels() =>
    [
        // Priority 1: it is the only channel of a diagnostic node, so its share does not matter.
        new ChannelDescriptor(Channel, Priority: 1) { SendQueueCapacity = SendQueueCapacity, RecvMessageCapacity = MaxMessageSize },
    ];

    public override async ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        // The envelope's bytes belong to us (Envelope docs), so they can be queued back as they are. Waiting here holds
        // back the next message (from any peer) until this echo is queued: order is kept and a slow reader slows only
        // the echo service, never the connections' I/O loops.
        if (await envelope.Source.SendAsync(envelope.ChannelId, envelope.Message, cancellationToken).ConfigureAwait(false))
        {
            Interlocked.Increment(ref _echoed);
            return;
        }
        if (!envelope.Source.IsRunning) return;
        // The peer stopped reading for a whole send_timeout: it would wait forever for an echo that was dropped, so
        // tell it now by disconnecting.
        CliLog.EchoDropped(logger, envelope.Source.Id.ToString(), Addresses.FormatChannel(Channel));
        Switch?.StopPeerForError(envelope.Source, null, "echo could not be queued within the send timeout");
    }
}
