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

    /// <summary>
    /// Incoming messages on this channel from every peer: in arrival order per peer, round robin across peers (one
    /// flooding peer cannot starve the others). Ends when the Switch stops. One reader at a time.
    /// </summary>
    public async IAsyncEnumerable<Envelope> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (ok, envelope) = await _reactor.Inbox.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (!ok) yield break;
            yield return envelope;
        }
    }

    /// <summary>Waits for the next message.</summary>
    /// <exception cref="ChannelClosedException">The Switch stopped.</exception>
    // Pooled: an agent that reads one message at a time waits on most reads, and must not allocate for each.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Envelope> ReadAsync(CancellationToken cancellationToken = default)
    {
        var (ok, envelope) = await _reactor.Inbox.ReadAsync(cancellationToken).ConfigureAwait(false);
        return ok ? envelope : throw new ChannelClosedException("the switch stopped");
    }

    /// <summary>Takes the next message if one is waiting.</summary>
    public bool TryRead(out Envelope envelope) => _reactor.Inbox.TryRead(out envelope);

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

/// <summary>
/// The reactor that registers an <see cref="AgentChannel"/>'s descriptor. It has no receive loop: the agent reads the
/// Switch's fair inbound queue for the channel directly (<see cref="Inbox"/>), so the channel's budget and full policy
/// apply to the agent as to any reactor.
/// </summary>
internal sealed class AgentReactor(ChannelDescriptor descriptor) : Reactor($"agent-0x{descriptor.Id:x2}")
{
    public ChannelDescriptor Descriptor { get; } = descriptor;

    /// <summary>Set by the Switch when the reactor is registered.</summary>
    public FairInbound Inbox { get; internal set; } = new(null);

    public override IReadOnlyList<ChannelDescriptor> GetChannels() => [Descriptor];

    // Never called: the Switch does not run a receive loop for agents.
    public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("agent channels are read through AgentChannel.ReadAllAsync");
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
