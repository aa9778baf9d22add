using Stopwatch = System.Diagnostics.Stopwatch;   // not the namespace: Switchboard.Switch clashes with System.Diagnostics.Switch
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard;
using Switchboard.Conn;
using Switchboard.Peers;

namespace HostedPingPong;

/// <summary>The protocol: "ping N" is answered with "pong N" on channel 0x77.</summary>
public static class PingPongProtocol
{
    /// <summary>0x77, with room for a burst of pings in the send queue.</summary>
    public static readonly ChannelDescriptor Channel = new(0x77, Priority: 5) { SendQueueCapacity = 100 };

    /// <summary>The answer to <paramref name="ping"/>, or null when it is not a ping.</summary>
    public static byte[]? Answer(ReadOnlySpan<byte> ping) =>
        ping.StartsWith("ping "u8) ? [.. "pong "u8, .. ping["ping ".Length..]] : null;
}

/// <summary>Settings of the pinging node, section "PingPong".</summary>
public sealed class PingPongOptions
{
    /// <summary>Pings sent to the first peer. Default 10.</summary>
    public int Count { get; set; } = 10;

    /// <summary>How long the pinger waits for a peer and its pongs before it gives up. Default 30 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Push style: the Switch calls <see cref="ReceiveAsync"/> for each message; the container makes it (with its logger).</summary>
public sealed class PongReactor(ILogger<PongReactor> logger) : Reactor("PONG")
{
    /// <inheritdoc/>
    public override IReadOnlyList<ChannelDescriptor> GetChannels() => [PingPongProtocol.Channel];

    /// <inheritdoc/>
    public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        if (PingPongProtocol.Answer(envelope.Message.Span) is { } pong) envelope.Reply(pong);
        else logger.LogWarning("pong: not a ping from {Peer}", envelope.Source.Id);
        return ValueTask.CompletedTask;
    }
}

/// <summary>What the pinger achieved, read by Program after the host stops.</summary>
public sealed class PingResult
{
    /// <summary>Pongs received.</summary>
    public int Pongs { get; set; }

    /// <summary>True when every ping was answered in order.</summary>
    public bool Completed { get; set; }

    /// <summary>The peer that answered.</summary>
    public string? Peer { get; set; }

    /// <summary>From the first ping to the last pong.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>Why it did not complete.</summary>
    public string? Failure { get; set; }
}

/// <summary>Pull style: a BackgroundService that waits for a peer, pings it through its agent channel, reads the pongs,
/// and stops the host when they are all back.</summary>
public sealed class PingWorker(
    [FromKeyedServices((byte)0x77)] AgentChannel channel,
    Switch node,
    IOptions<PingPongOptions> options,
    PingResult result,
    IHostApplicationLifetime lifetime,
    ILogger<PingWorker> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var count = options.Value.Count;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(options.Value.Timeout);
        try
        {
            // Subscribe before looking at the peer set: WatchPeersAsync reports peers added from the call on, and the
            // persistent peer may have been added before this service started.
            var events = node.WatchPeersAsync(deadline.Token);
            var peer = node.Peers.FirstOrDefault();
            if (peer is null)
                await foreach (var e in events)
                    if (e is PeerAdded added) { peer = added.Peer; break; }
            logger.LogInformation("ping: connected to {Moniker} ({Peer}), sending {Count} pings", peer!.NodeInfo.Moniker, peer.Id, count);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
                await channel.SendAsync(peer, Encoding.UTF8.GetBytes($"ping {i}"), deadline.Token);
            while (result.Pongs < count)
            {
                var reply = await channel.ReadAsync(deadline.Token);
                var text = Encoding.UTF8.GetString(reply.Message.Span);
                if (text != $"pong {result.Pongs}") throw new InvalidDataException($"expected \"pong {result.Pongs}\", got \"{text}\"");
                result.Pongs++;
            }
            result.Elapsed = clock.Elapsed;
            result.Peer = peer.NodeInfo.Moniker;
            result.Completed = true;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            result.Failure = $"no answer within {options.Value.Timeout}";
        }
        catch (InvalidDataException ex)
        {
            result.Failure = ex.Message;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }
}
