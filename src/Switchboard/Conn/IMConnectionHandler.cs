namespace Switchboard.Conn;

/// <summary>Receives what an <see cref="MConnection"/> delivers.</summary>
public interface IMConnectionHandler
{
    /// <summary>
    /// A complete message arrived on <paramref name="channelId"/>. Called on that channel's dispatch loop — never on
    /// the receive loop — one message at a time per channel, in arrival order; the next call for the channel waits
    /// until the returned task completes, while other channels go on. A slow handler does not delay pongs; once the
    /// channel's inbound budget (<see cref="ChannelDescriptor.RecvQueueBytes"/>, <see cref="MConnectionOptions.MaxBufferedBytes"/>)
    /// is full, its <see cref="ChannelDescriptor.FullMode"/> applies. The memory belongs to the handler: the connection
    /// never reuses it.
    /// An exception thrown here closes the connection with that error. After a failure, messages that were complete
    /// before it are still delivered (then <see cref="OnClosed"/> follows); a local close drops them and cancels
    /// <paramref name="cancellationToken"/>.
    /// </summary>
    ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>
    /// Called exactly once, after every loop of the connection has stopped and the transport is closed:
    /// <paramref name="error"/> is null for a local close (<see cref="MConnection.DisposeAsync"/>,
    /// <see cref="MConnection.FlushStopAsync"/>), otherwise the reason — <see cref="ProtocolViolationException"/>,
    /// <see cref="IOException"/> (<see cref="EndOfStreamException"/> when the peer closed the stream),
    /// <see cref="P2PTimeoutException"/> for a pong timeout, or a <see cref="P2PException"/> wrapping what the handler threw.
    /// </summary>
    void OnClosed(Exception? error);
}
