using Microsoft.Extensions.Logging;
using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>
/// The fair inbound queue of one reactor or agent: a ring of the (peer, channel) lanes that have messages. Each
/// read takes one message from the lane at the head and, if that lane has more, moves it to the tail — so with N
/// busy lanes a message waits behind at most N − 1 others however much one peer sends (round robin by message).
/// Lanes enter the ring when they become non-empty; the ring holds each lane at most once.
/// </summary>
internal sealed class FairInbound(SwitchMetrics? metrics) : IInboundScheduler
{
    private readonly Lock _gate = new();
    private readonly Queue<InboundLane> _ready = new();
    /// <summary>Auto-reset and allocation-free for the one reader (a reactor loop or an agent).</summary>
    private readonly MConnectionSignal _available = new();
    private int _readers;
    private bool _completed;
    /// <summary>The last message handed to the reader, when it is a pooled one (<see cref="ChannelDescriptor.PooledDelivery"/>):
    /// given back to the pool at the reader's next read.</summary>
    private ReadOnlyMemory<byte> _lent;
    private bool _lending;

    public void Schedule(InboundLane lane)
    {
        lock (_gate)
        {
            if (_completed)
            {
                lane.Clear();
                return;
            }
            _ready.Enqueue(lane);
        }
        _available.Set();
    }

    /// <summary>Takes the next message in fair order without waiting.</summary>
    public bool TryRead(out Envelope envelope)
    {
        lock (_gate)
        {
            // The reader has moved on: a pooled message it was lent goes back (reactors: ReceiveAsync returned).
            if (_lending)
            {
                InboundLane.ReturnPooled(_lent);
                _lent = default;
                _lending = false;
            }
            while (_ready.TryDequeue(out var lane))
            {
                if (!lane.TryDequeue(out var message, out var more, out var pooled)) continue;
                if (pooled)
                {
                    _lent = message;
                    _lending = true;
                }
                if (more) _ready.Enqueue(lane);
                var peer = (IPeer)lane.Owner!;
                if (metrics is not null && peer is Peer p) metrics.MessageReceived(p, lane.ChannelId, message.Length);
                envelope = new Envelope(peer, lane.ChannelId, message);
                return true;
            }
        }
        envelope = default;
        return false;
    }

    /// <summary>The next message in fair order; false once <see cref="Complete"/> was called and nothing is left.</summary>
    /// <exception cref="InvalidOperationException">Another read is already waiting (one reader at a time).</exception>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(bool Ok, Envelope Envelope)> ReadAsync(CancellationToken cancellationToken)
    {
        if (TryRead(out var envelope)) return (true, envelope);
        if (Interlocked.Increment(ref _readers) != 1)
        {
            Interlocked.Decrement(ref _readers);
            throw new InvalidOperationException("an inbound queue has one reader at a time");
        }
        try
        {
            // A cancellation wakes the wait; the loop then sees the token.
            using var registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static s => ((MConnectionSignal)s!).Set(), _available)
                : default;
            while (true)
            {
                if (TryRead(out envelope)) return (true, envelope);
                lock (_gate)
                    if (_completed) return (false, default);
                cancellationToken.ThrowIfCancellationRequested();
                await _available.WaitAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _readers);
        }
    }

    /// <summary>No more messages: waiting readers end; lanes still in the ring are dropped (their bytes returned).</summary>
    public void Complete()
    {
        InboundLane[] left;
        lock (_gate)
        {
            _completed = true;
            left = [.. _ready];
            _ready.Clear();
        }
        foreach (var lane in left) lane.Clear();
        _available.Set();
    }
}

/// <summary>Runs one reactor: its fair inbound queue and the loop that calls ReceiveAsync.</summary>
internal sealed class ReactorHost(Reactor reactor, Switch owner, ILogger logger, SwitchMetrics metrics)
{
    private Task? _loop;

    public Reactor Reactor { get; } = reactor;

    public FairInbound Inbound { get; } = new(metrics);

    public void Start(CancellationToken stopping)
    {
        // Agents consume the queue themselves (AgentChannel.ReadAllAsync); only real reactors need the loop.
        if (Reactor is not AgentReactor)
        {
            using (ExecutionContext.SuppressFlow())
                _loop = Task.Run(() => RunAsync(stopping), CancellationToken.None);
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var (ok, envelope) = await Inbound.ReadAsync(stopping).ConfigureAwait(false);
                if (!ok) return;
                try
                {
                    await Reactor.ReceiveAsync(envelope, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // CometBFT: a reactor panic on a message disconnects its sender; the process keeps running.
                    SwitchLog.ReactorReceiveFailed(logger, Reactor.Name, envelope.Source.Id.ToString(), ex);
                    if (envelope.Source is Peer peer)
                        owner.StopPeerInBackground(peer, new DisconnectReason(
                            ex is ProtocolViolationException ? DisconnectKind.ProtocolError : DisconnectKind.StoppedForError,
                            ex is ProtocolViolationException, $"reactor {Reactor.Name}: {ex.Message}", ex));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async Task StopAsync()
    {
        Inbound.Complete();
        if (_loop is not null) await _loop.ConfigureAwait(false);
    }
}
