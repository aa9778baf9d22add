using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>
/// A channel consumed without writing a Reactor (the "agent" style of the original design): read incoming
/// messages with <c>await foreach (var e in channel.ReadAllAsync())</c>, send with the methods below.
/// Created by <see cref="Switch.OpenChannel"/> before the Switch starts.
/// </summary>
public sealed class AgentChannel
{
    private readonly AgentReactor _reactor;

    internal AgentChannel(AgentReactor reactor) => _reactor = reactor;

    /// <summary>The channel's descriptor.</summary>
    public ChannelDescriptor Descriptor => _reactor.Descriptor;

    /// <summary>Incoming messages on this channel from every peer, in arrival order per peer. One reader at a time.</summary>
    public IAsyncEnumerable<Envelope> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _reactor.Inbox.ReadAllAsync(cancellationToken);

    /// <summary>Waits for the next message.</summary>
    public ValueTask<Envelope> ReadAsync(CancellationToken cancellationToken = default) => _reactor.Inbox.ReadAsync(cancellationToken);

    /// <summary>Queues <paramref name="message"/> to every connected peer that has this channel, without waiting; returns how many accepted it.</summary>
    public int TryBroadcast(ReadOnlyMemory<byte> message) =>
        _reactor.Switch?.TryBroadcast(Descriptor.Id, message) ?? 0;

    /// <summary>Sends to every peer, waiting for queue room; returns each peer's result.</summary>
    public Task<IReadOnlyDictionary<Crypto.NodeId, bool>> BroadcastAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        _reactor.Switch?.BroadcastAsync(Descriptor.Id, message, cancellationToken)
        ?? Task.FromResult<IReadOnlyDictionary<Crypto.NodeId, bool>>(new Dictionary<Crypto.NodeId, bool>());

    /// <summary>Sends to one peer, waiting for queue room.</summary>
    public ValueTask<bool> SendAsync(IPeer peer, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        peer.SendAsync(Descriptor.Id, message, cancellationToken);

    /// <summary>Sends to one peer without waiting.</summary>
    public bool TrySend(IPeer peer, ReadOnlyMemory<byte> message) => peer.TrySend(Descriptor.Id, message);
}

/// <summary>The reactor behind an <see cref="AgentChannel"/>: forwards messages into a bounded channel the agent reads.</summary>
internal sealed class AgentReactor : Reactor
{
    private readonly Channel<Envelope> _inbox;

    public AgentReactor(ChannelDescriptor descriptor, InboundQueueOptions queue) : base($"agent-0x{descriptor.Id:x2}")
    {
        Descriptor = descriptor;
        InboundQueue = queue;
        // The reactor loop itself is the only writer; the agent's own queue gives the same back-pressure policy.
        _inbox = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(queue.Capacity) { SingleWriter = true });
    }

    public ChannelDescriptor Descriptor { get; }

    public override InboundQueueOptions InboundQueue { get; }

    public ChannelReader<Envelope> Inbox => _inbox.Reader;

    public override IReadOnlyList<ChannelDescriptor> GetChannels() => [Descriptor];

    public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken) =>
        _inbox.Writer.WriteAsync(envelope, cancellationToken);

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _inbox.Writer.TryComplete();
        return Task.CompletedTask;
    }
}

/// <summary>Reads the Switch's peer events as an async stream.</summary>
internal sealed class PeerEventSubscription
{
    private readonly Channel<PeerEvent> _events = Channel.CreateBounded<PeerEvent>(
        new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    public void Publish(PeerEvent e) => _events.Writer.TryWrite(e);

    public void Complete() => _events.Writer.TryComplete();

    public async IAsyncEnumerable<PeerEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return e;
    }
}
