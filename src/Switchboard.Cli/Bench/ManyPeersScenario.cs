using System.Diagnostics;
using System.Security.Cryptography;
using Switchboard.Crypto;

namespace Switchboard.Cli.Bench;

/// <summary>Settings of the many-peers scenario.</summary>
/// <param name="Peers">Peers connected to the hub (default 50).</param>
/// <param name="MessageSize">Bytes per message (default 256).</param>
/// <param name="MessagesPerPeer">Messages each peer sends in the throughput phase (default 20,000: 256 MB in all at the
/// defaults).</param>
/// <param name="LatencyRoundsPerPeer">Messages each peer sends in the latency phase, one at a time (default 200).</param>
internal sealed record ManyPeersOptions(int Peers = 50, int MessageSize = 256, int MessagesPerPeer = 20_000, int LatencyRoundsPerPeer = 200)
{
    public void Validate()
    {
        if (Peers < 1) throw new ArgumentException("Peers must be at least 1");
        if (MessageSize < 1 || MessageSize > 1 << 20) throw new ArgumentException("MessageSize must be 1 to 1 MiB");
        if (MessagesPerPeer < 1) throw new ArgumentException("MessagesPerPeer must be at least 1");
        if (LatencyRoundsPerPeer < 1) throw new ArgumentException("LatencyRoundsPerPeer must be at least 1");
    }
}

/// <summary>What the many-peers scenario measured.</summary>
/// <param name="Peers">Peers that sent.</param>
/// <param name="MessageSize">Bytes per message.</param>
/// <param name="Messages">Messages the hub received (all of them).</param>
/// <param name="Seconds">From the first send to the last message delivered at the hub.</param>
/// <param name="ConnectSeconds">Time to connect every peer (handshakes, <see cref="BenchPeers.DialConcurrency"/> at a time).</param>
/// <param name="LatencyP50Micros">Latency phase: median time from a peer's SendAsync call to the hub's delivery, every
/// peer sending at once but each with one message in flight (under the throughput phase's full load the figure would
/// only say how deep the queues are).</param>
/// <param name="LatencyP99Micros">The 99th percentile of the same.</param>
internal sealed record ManyPeersResult(int Peers, int MessageSize, long Messages, double Seconds, double ConnectSeconds,
    double LatencyP50Micros, double LatencyP99Micros)
{
    public long Bytes => Messages * MessageSize;
    public double MegabytesPerSecond => Bytes / Seconds / 1e6;
    public double MessagesPerSecond => Messages / Seconds;
    public double HandshakesPerSecond => Peers / ConnectSeconds;

    public override string ToString() =>
        $"many peers: {Peers} peers × {ThroughputHarness.FormatSize(MessageSize)} messages → one node: {MegabytesPerSecond:0.0} MB/s, " +
        $"{MessagesPerSecond:0} msgs/s; send-to-delivery with all peers sending one at a time p50 {LatencyP50Micros:0} µs, " +
        $"p99 {LatencyP99Micros:0} µs " +
        $"(connected in {ConnectSeconds:0.00} s)";
}

/// <summary>
/// Issue 13, item 6: one node with N peers connected over loopback TCP (each peer a Switch of its own in this process,
/// full SecretConnection + MConnection), every peer sending small messages to it at once. Aggregate throughput is
/// what the hub delivered. Latency is measured in a second phase, per message, from the sender's SendAsync to the
/// hub's agent channel (both ends read the same clock): every peer sends at once, each its next message as soon as its
/// previous one was delivered.
/// </summary>
internal static class ManyPeersScenario
{
    public static async Task<ManyPeersResult> RunAsync(ManyPeersOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        options.Validate();
        var limit = BenchPeers.EnsureFileLimit(2L * options.Peers + 256);
        if (limit is { } l && l < 2L * options.Peers + 64)
            throw new InvalidOperationException($"bench: {options.Peers} peers in one process need about {2 * options.Peers + 64} open files; " +
                $"the limit is {l} (raise it with ulimit -n)");
        var (hub, inbox) = await BenchPeers.StartHubAsync(options.Peers, options.MessageSize, cancellationToken);
        var clients = new (Switch Node, AgentChannel Channel)[options.Peers];
        try
        {
            progress($"many peers: connecting {options.Peers} peers …");
            var connect = Stopwatch.StartNew();
            var peers = new Peers.IPeer[options.Peers];
            await BenchPeers.ForEachConcurrentAsync(options.Peers, async (i, ct) =>
            {
                clients[i] = await BenchPeers.StartClientAsync(options.MessageSize, ct);
                peers[i] = await clients[i].Node.DialPeerAsync(hub.ListenAddress!, ct);
            }, cancellationToken);
            await BenchPeers.WaitForAsync(() => hub.Peers.Count == options.Peers, TimeSpan.FromSeconds(30), "every peer added at the hub", cancellationToken);
            var connectSeconds = connect.Elapsed.TotalSeconds;

            var index = new Dictionary<NodeId, int>();
            for (var i = 0; i < clients.Length; i++) index[clients[i].Node.NodeId] = i;
            var payload = new byte[options.MessageSize];
            RandomNumberGenerator.Fill(payload);

            var total = (long)options.Peers * options.MessagesPerPeer;
            progress($"many peers: {options.Peers} × {options.MessagesPerPeer} messages of {ThroughputHarness.FormatSize(options.MessageSize)} …");
            var start = Stopwatch.GetTimestamp();
            long lastDelivered = 0;
            var receiver = Task.Run(async () =>
            {
                long got = 0;
                await foreach (var e in inbox.ReadAllAsync(cancellationToken))
                    if (++got == total)
                    {
                        lastDelivered = Stopwatch.GetTimestamp();
                        return;
                    }
            }, cancellationToken);
            await Task.WhenAll(peers.Select(peer => Task.Run(async () =>
            {
                for (var k = 0; k < options.MessagesPerPeer; k++)
                    if (!await peer.SendAsync(BenchPeers.Channel, payload, cancellationToken))
                        throw new IOException("bench: a send failed (the connection went down during the scenario)");
            }, cancellationToken)));
            await receiver;
            var seconds = Stopwatch.GetElapsedTime(start, lastDelivered).TotalSeconds;

            progress($"many peers: latency, {options.Peers} peers × {options.LatencyRoundsPerPeer} messages one at a time …");
            var latencies = await LatencyAsync(options, peers, inbox, index, payload, cancellationToken);
            return new ManyPeersResult(options.Peers, options.MessageSize, total, seconds, connectSeconds,
                BenchPeers.Percentile(latencies, 0.50), BenchPeers.Percentile(latencies, 0.99));
        }
        finally
        {
            await hub.DisposeAsync();
            await Task.WhenAll(clients.Where(c => c.Node is not null).Select(c => c.Node.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Every peer sends its next message when the hub has delivered its previous one; returns the sorted latencies.</summary>
    private static async Task<double[]> LatencyAsync(ManyPeersOptions options, Peers.IPeer[] peers, AgentChannel inbox,
        Dictionary<NodeId, int> index, byte[] payload, CancellationToken cancellationToken)
    {
        var rounds = options.LatencyRoundsPerPeer;
        var sentAt = new long[peers.Length];
        var delivered = peers.Select(_ => new SemaphoreSlim(0)).ToArray();
        var latencies = new double[(long)peers.Length * rounds];
        var total = latencies.LongLength;
        var receiver = Task.Run(async () =>
        {
            long got = 0;
            await foreach (var e in inbox.ReadAllAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                var from = index[e.Source.Id];
                latencies[got] = Stopwatch.GetElapsedTime(Volatile.Read(ref sentAt[from]), now).TotalMicroseconds;
                delivered[from].Release();
                if (++got == total) return;
            }
        }, cancellationToken);
        await Task.WhenAll(peers.Select((peer, i) => Task.Run(async () =>
        {
            for (var k = 0; k < rounds; k++)
            {
                Volatile.Write(ref sentAt[i], Stopwatch.GetTimestamp());
                if (!await peer.SendAsync(BenchPeers.Channel, payload, cancellationToken))
                    throw new IOException("bench: a send failed (the connection went down during the scenario)");
                await delivered[i].WaitAsync(cancellationToken);
            }
        }, cancellationToken)));
        await receiver;
        foreach (var d in delivered) d.Dispose();
        Array.Sort(latencies);
        return latencies;
    }
}
