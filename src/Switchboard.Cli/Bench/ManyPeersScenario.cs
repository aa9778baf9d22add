using System.Diagnostics;
using System.Security.Cryptography;
using Switchboard.Crypto;

namespace Switchboard.Cli.Bench;

/// <summary>Settings of the many-peers scenario.</summary>
/// <param name="Peers">Peers connected to the hub (default 50).</param>
/// <param name="MessageSize">Bytes per message (default 256).</param>
/// <param name="MessagesPerPeer">Messages each peer sends (default 20,000: 256 MB in all at the defaults).</param>
internal sealed record ManyPeersOptions(int Peers = 50, int MessageSize = 256, int MessagesPerPeer = 20_000)
{
    public void Validate()
    {
        if (Peers < 1) throw new ArgumentException("Peers must be at least 1");
        if (MessageSize < 1 || MessageSize > 1 << 20) throw new ArgumentException("MessageSize must be 1 to 1 MiB");
        if (MessagesPerPeer < 1) throw new ArgumentException("MessagesPerPeer must be at least 1");
    }
}

/// <summary>What the many-peers scenario measured.</summary>
/// <param name="Peers">Peers that sent.</param>
/// <param name="MessageSize">Bytes per message.</param>
/// <param name="Messages">Messages the hub received (all of them).</param>
/// <param name="Seconds">From the first send to the last message delivered at the hub.</param>
/// <param name="ConnectSeconds">Time to connect every peer (handshakes, <see cref="BenchPeers.DialConcurrency"/> at a time).</param>
/// <param name="LatencyP50Micros">Median time from a peer's SendAsync call to the hub's delivery, under full load
/// (mostly time spent queued behind the peer's own earlier messages).</param>
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
        $"{MessagesPerSecond:0} msgs/s; send-to-delivery p50 {LatencyP50Micros:0} µs, p99 {LatencyP99Micros:0} µs " +
        $"(connected in {ConnectSeconds:0.00} s)";
}

/// <summary>
/// Issue 13, item 6: one node with N peers connected over loopback TCP (each peer a Switch of its own in this process,
/// full SecretConnection + MConnection), every peer sending small messages to it at once. Aggregate throughput is
/// what the hub delivered; latency is per message, from the sender's SendAsync to the hub's agent channel (both ends
/// read the same clock), recorded for every message.
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

            // Index of each sender by node ID, and each sender's send timestamps: the hub matches the k-th message of a
            // peer with its k-th send (one channel delivers in order).
            var index = new Dictionary<NodeId, int>();
            for (var i = 0; i < clients.Length; i++) index[clients[i].Node.NodeId] = i;
            var sent = new long[options.Peers][];
            for (var i = 0; i < sent.Length; i++) sent[i] = new long[options.MessagesPerPeer];
            var latencies = new double[(long)options.Peers * options.MessagesPerPeer];
            var payload = new byte[options.MessageSize];
            RandomNumberGenerator.Fill(payload);
            var total = (long)options.Peers * options.MessagesPerPeer;

            progress($"many peers: {options.Peers} × {options.MessagesPerPeer} messages of {ThroughputHarness.FormatSize(options.MessageSize)} …");
            var start = Stopwatch.GetTimestamp();
            long lastDelivered = 0;
            var receiver = Task.Run(async () =>
            {
                var received = new int[options.Peers];
                long got = 0;
                await foreach (var e in inbox.ReadAllAsync(cancellationToken))
                {
                    var now = Stopwatch.GetTimestamp();
                    var from = index[e.Source.Id];
                    var k = received[from]++;
                    latencies[got] = Stopwatch.GetElapsedTime(Volatile.Read(ref sent[from][k]), now).TotalMicroseconds;
                    if (++got == total)
                    {
                        lastDelivered = now;
                        return;
                    }
                }
            }, cancellationToken);
            var senders = peers.Select((peer, i) => Task.Run(async () =>
            {
                var times = sent[i];
                for (var k = 0; k < times.Length; k++)
                {
                    Volatile.Write(ref times[k], Stopwatch.GetTimestamp());
                    if (!await peer.SendAsync(BenchPeers.Channel, payload, cancellationToken))
                        throw new IOException("bench: a send failed (the connection went down during the scenario)");
                }
            }, cancellationToken)).ToList();
            await Task.WhenAll(senders);
            await receiver;
            var seconds = Stopwatch.GetElapsedTime(start, lastDelivered).TotalSeconds;
            Array.Sort(latencies);
            return new ManyPeersResult(options.Peers, options.MessageSize, total, seconds, connectSeconds,
                BenchPeers.Percentile(latencies, 0.50), BenchPeers.Percentile(latencies, 0.99));
        }
        finally
        {
            await hub.DisposeAsync();
            await Task.WhenAll(clients.Where(c => c.Node is not null).Select(c => c.Node.DisposeAsync().AsTask()));
        }
    }
}
