using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>Runs one reactor: its bounded inbound queue and the loop that calls ReceiveAsync.</summary>
internal sealed class ReactorHost
{
    private readonly Channel<Envelope> _queue;
    private readonly Switch _switch;
    private readonly ILogger _logger;
    private Task? _loop;
    private long _dropped;

    public ReactorHost(Reactor reactor, Switch owner, ILogger logger)
    {
        Reactor = reactor;
        _switch = owner;
        _logger = logger;
        var options = reactor.InboundQueue;
        if (options.Capacity < 1) throw new ArgumentException($"reactor {reactor.Name}: inbound queue capacity must be at least 1");
        _queue = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(options.Capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public Reactor Reactor { get; }

    /// <summary>Messages dropped because the queue was full under <see cref="InboundFullMode.DisconnectPeer"/>.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Queued => _queue.Reader.Count;

    /// <summary>The queue itself: an agent reads it directly instead of through a loop and a second queue.</summary>
    public ChannelReader<Envelope> Reader => _queue.Reader;

    public void Start(CancellationToken stopping)
    {
        // Agents consume the queue themselves (AgentChannel.ReadAllAsync); only real reactors need the loop.
        if (Reactor is not AgentReactor) _loop = Task.Run(() => RunAsync(stopping), CancellationToken.None);
    }

    public ValueTask EnqueueAsync(Peer source, byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var envelope = new Envelope(source, channelId, message);
        if (_queue.Writer.TryWrite(envelope)) return ValueTask.CompletedTask;
        if (Reactor.InboundQueue.FullMode == InboundFullMode.DisconnectPeer)
        {
            Interlocked.Increment(ref _dropped);
            SwitchMetrics.MessagesDropped.Add(1, new KeyValuePair<string, object?>("reactor", Reactor.Name));
            _switch.StopPeerInBackground(source, new DisconnectReason(DisconnectKind.SlowPeer, false,
                $"reactor {Reactor.Name}'s inbound queue is full ({Reactor.InboundQueue.Capacity} messages)"));
            return ValueTask.CompletedTask;
        }
        return WaitAsync(envelope, cancellationToken);
    }

    private async ValueTask WaitAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The reactor stopped; the message has nowhere to go.
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await foreach (var envelope in _queue.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
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
                    SwitchLog.ReactorReceiveFailed(_logger, Reactor.Name, envelope.Source.Id.ToString(), ex);
                    if (envelope.Source is Peer peer)
                        _switch.StopPeerInBackground(peer, new DisconnectReason(
                            ex is ProtocolViolationException ? DisconnectKind.ProtocolError : DisconnectKind.StoppedForError,
                            false, $"reactor {Reactor.Name}: {ex.Message}", ex));
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
        _queue.Writer.TryComplete();
        if (_loop is not null) await _loop.ConfigureAwait(false);
    }
}

/// <summary>System.Diagnostics.Metrics instruments, named after CometBFT's p2p metrics.</summary>
internal static class SwitchMetrics
{
    public static readonly Meter Meter = new("Switchboard.P2P");
    public static readonly UpDownCounter<int> Peers = Meter.CreateUpDownCounter<int>("cometbft_p2p_peers", description: "Number of connected peers");
    public static readonly Counter<long> MessagesDropped = Meter.CreateCounter<long>("switchboard_p2p_messages_dropped_total", description: "Inbound messages dropped because a reactor queue was full");
    public static readonly Counter<long> PeerReceiveBytes = Meter.CreateCounter<long>("cometbft_p2p_peer_receive_bytes_total", "By", "Bytes of complete messages received, by channel");
    public static readonly Counter<long> Disconnects = Meter.CreateCounter<long>("switchboard_p2p_disconnects_total", description: "Peers removed, by reason");
}
