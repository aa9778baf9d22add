using Google.Protobuf;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>A complete message received from a peer on one channel.</summary>
/// <param name="Source">The sender.</param>
/// <param name="ChannelId">The channel it arrived on.</param>
/// <param name="Message">The message bytes; owned by the receiver, except on a channel with
/// <see cref="Conn.ChannelDescriptor.PooledDelivery"/>, where they are valid only until the consumer moves on.</param>
public readonly record struct Envelope(IPeer Source, byte ChannelId, ReadOnlyMemory<byte> Message)
{
    /// <summary>
    /// Answers the sender on the same channel without ever waiting: the safe way to reply from a reactor or agent
    /// loop that serves many peers. Bounded by the sender's send budget in bytes
    /// (<see cref="Conn.MConnectionOptions.MaxSendBufferedBytes"/>), not by the channel's message count; when that is
    /// full the sender is not reading what it asks for: it is disconnected (<see cref="DisconnectKind.SlowPeer"/>) and
    /// false is returned. A reply larger than the whole budget is refused (false) without blame. Replies to one peer
    /// keep their order.
    /// </summary>
    /// <returns>True when queued.</returns>
    public bool Reply(ReadOnlyMemory<byte> message) =>
        Source is Peer peer ? peer.Reply(ChannelId, message) : Source.TrySend(ChannelId, message);

    /// <summary>Encodes <paramref name="message"/> and answers with <see cref="Reply(ReadOnlyMemory{byte})"/>.</summary>
    public bool Reply(IMessage message) => Reply(message.ToByteArray());

    /// <summary>Decodes the message as a protobuf type; a decoding failure is the sender's protocol violation.</summary>
    /// <exception cref="ProtocolViolationException">the bytes are not a valid <typeparamref name="T"/> (the Switch disconnects the sender when a reactor lets it escape).</exception>
    public T Decode<T>(MessageParser<T> parser) where T : IMessage<T>
    {
        try
        {
            return Wire.ProtoErrors.Parse(parser, Message.Span);
        }
        catch (Exception ex) when (Wire.ProtoErrors.IsMalformed(ex))
        {
            throw new ProtocolViolationException(ProtocolViolation.InvalidChannelMessage,
                $"channel 0x{ChannelId:x2}: cannot decode {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}

/// <summary>Typed protobuf helpers for peers.</summary>
public static class PeerMessageExtensions
{
    /// <summary>Encodes <paramref name="message"/> and queues it without waiting.</summary>
    public static bool TrySend(this IPeer peer, byte channelId, IMessage message) =>
        peer.TrySend(channelId, message.ToByteArray());

    /// <summary>Encodes <paramref name="message"/> and queues it, waiting for room.</summary>
    public static ValueTask<bool> SendAsync(this IPeer peer, byte channelId, IMessage message, CancellationToken cancellationToken = default) =>
        peer.SendAsync(channelId, message.ToByteArray(), cancellationToken);
}
