using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Cli.Bench;

/// <summary>Settings of one harness run.</summary>
/// <param name="MessageSizes">Message sizes to measure.</param>
/// <param name="BytesPerSize">Payload bytes pushed for each size (and for each baseline).</param>
/// <param name="LatencySamples">Round trips measured for the latency figures (1 KiB messages).</param>
internal sealed record HarnessOptions(IReadOnlyList<int> MessageSizes, long BytesPerSize, int LatencySamples);

/// <summary>One measured line; <paramref name="CpuSeconds"/> is the whole process's CPU time over the same interval.</summary>
internal sealed record HarnessResult(string Name, int MessageSize, long Bytes, double Seconds, double CpuSeconds)
{
    public double MegabytesPerSecond => Bytes / Seconds / 1e6;

    /// <summary>MB moved per second of CPU: what the work costs, less sensitive to other load than wall-clock MB/s.</summary>
    public double MegabytesPerCpuSecond => CpuSeconds <= 0 ? 0 : Bytes / CpuSeconds / 1e6;
    public double MessagesPerSecond => MessageSize == 0 ? 0 : Bytes / (double)MessageSize / Seconds;
}

/// <summary>Everything a run measured; ratios are against baselines measured in the same run.</summary>
internal sealed record HarnessReport(
    HarnessResult RawTcp,
    HarnessResult RawAead,
    IReadOnlyList<HarnessResult> Stack,
    double LatencyP50Micros,
    double LatencyP99Micros,
    double RawTcpLatencyP50Micros,
    string AeadPath)
{
    /// <summary>Lines of the other scenarios of the same run (many peers, idle peers, handshakes), shown under the table.</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];
}

/// <summary>
/// The throughput/latency harness: the full stack (TCP → SecretConnection → MConnection → Switch, two nodes in
/// this process on loopback) against raw loopback TCP and raw ChaCha20-Poly1305 over 1028-byte frames, measured in
/// the same run, because these machines are shared and only ratios are comparable between runs.
/// </summary>
internal static class ThroughputHarness
{
    private const byte Channel = 0x77;

    /// <summary>The same channel with <see cref="ChannelDescriptor.PooledDelivery"/>, measured for large messages.</summary>
    private const byte PooledChannel = 0x78;

    /// <summary>Sizes from which the pooled-delivery line is measured too (where a new array per message costs most).</summary>
    private const int PooledFrom = 64 * 1024;

    /// <summary>Wall clock and process CPU time of one measured phase.</summary>
    private readonly struct Meter
    {
        private readonly long _start;
        private readonly TimeSpan _cpu;

        private Meter(long start, TimeSpan cpu)
        {
            _start = start;
            _cpu = cpu;
        }

        public static Meter Start() => new(Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime);

        public HarnessResult Stop(string name, int size, long bytes) =>
            new(name, size, bytes, Stopwatch.GetElapsedTime(_start).TotalSeconds, (Environment.CpuUsage.TotalTime - _cpu).TotalSeconds);
    }

    public static async Task<HarnessReport> RunAsync(HarnessOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        progress("raw loopback TCP …");
        var rawTcp = await RawTcpAsync(options.BytesPerSize, cancellationToken);
        progress("raw ChaCha20-Poly1305 (seal + open, 1028-byte frames) …");
        var rawAead = RawAead(options.BytesPerSize);
        var key = NodeKey.Generate();
        var keyB = NodeKey.Generate();
        var descriptor = new ChannelDescriptor(Channel, 1) { SendQueueCapacity = 256, RecvMessageCapacity = 4 << 20, RecvQueueBytes = 8 << 20 };
        var options0 = new SwitchOptions { Network = "bench", AllowDuplicateIp = true, DialJitter = TimeSpan.Zero };
        await using var a = new Switch(new TcpTransport(key, new TransportOptions { AllowDuplicateIp = true }), key, options0);
        await using var b = new Switch(new TcpTransport(keyB, new TransportOptions { AllowDuplicateIp = true }), keyB, options0);
        var outA = a.OpenChannel(descriptor);
        var inB = b.OpenChannel(descriptor);
        var pooled = descriptor with { Id = PooledChannel, PooledDelivery = true };
        a.OpenChannel(pooled);
        var pooledB = b.OpenChannel(pooled);
        await a.StartAsync(null, cancellationToken);
        await b.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), cancellationToken);
        var peer = await a.DialPeerAsync(b.ListenAddress!, cancellationToken);

        var stack = new List<HarnessResult>();
        foreach (var size in options.MessageSizes)
            stack.Add(await MeasureAsync(peer, Channel, inB, size, options.BytesPerSize, "stack", progress, cancellationToken));
        foreach (var size in options.MessageSizes.Where(size => size >= PooledFrom))
            stack.Add(await MeasureAsync(peer, PooledChannel, pooledB, size, options.BytesPerSize, "stack, pooled delivery", progress, cancellationToken));

        progress($"latency, {options.LatencySamples} round trips of 1 KiB …");
        var echo = Task.Run(async () =>
        {
            var back = b.Peers[0];
            await foreach (var e in inB.ReadAllAsync(cancellationToken))
                await back.SendAsync(Channel, e.Message, cancellationToken);
        }, cancellationToken);
        var samples = new double[options.LatencySamples];
        var ping = new byte[1024];
        for (var i = 0; i < Math.Min(200, samples.Length); i++) // warm-up round trips, not measured
        {
            await peer.SendAsync(Channel, ping, cancellationToken);
            await outA.ReadAsync(cancellationToken);
        }
        for (var i = 0; i < samples.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await peer.SendAsync(Channel, ping, cancellationToken);
            await outA.ReadAsync(cancellationToken);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(samples);
        var rawLatency = await RawTcpLatencyAsync(Math.Min(options.LatencySamples, 2000), cancellationToken);
        await a.StopAsync();
        await b.StopAsync();
        try { await echo; } catch (OperationCanceledException) { }
        return new HarnessReport(rawTcp, rawAead, stack, Percentile(samples, 0.50), Percentile(samples, 0.99), rawLatency,
            SecretConnection.AeadImplementation);
    }

    /// <summary>One measured line: about <paramref name="bytes"/> of <paramref name="size"/>-byte messages on
    /// <paramref name="channel"/>, after a warm-up.</summary>
    private static async Task<HarnessResult> MeasureAsync(IPeer peer, byte channel, AgentChannel inbound, int size, long bytes,
        string name, Action<string> progress, CancellationToken cancellationToken)
    {
        progress($"full {name}, {FormatSize(size)} messages …");
        var count = Math.Max(1, bytes / size);
        var payload = new byte[size];
        RandomNumberGenerator.Fill(payload);
        // Warm-up, not measured: the JIT's tiers (and dynamic PGO) settle on the paths this size takes.
        await WarmUpAsync(peer, channel, inbound, payload, count, cancellationToken);
        var meter = Meter.Start();
        await PushAsync(peer, channel, inbound, payload, count, cancellationToken);
        return meter.Stop(name, size, count * size);
    }

    /// <summary>
    /// An eighth of the measured messages, repeated until <see cref="WarmUpTime"/> has passed: the framework's
    /// ReadyToRun code (sockets, pipelines, the thread pool) is rejitted at tier 1 only after a delay that new activity
    /// extends, so whichever size came first used to be measured partly on unoptimized code.
    /// </summary>
    private static async Task WarmUpAsync(IPeer peer, byte channel, AgentChannel inbound, byte[] payload, long count, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        do await PushAsync(peer, channel, inbound, payload, Math.Max(1, count / 8), cancellationToken);
        while (Stopwatch.GetElapsedTime(start) < WarmUpTime);
    }

    /// <summary>0.5 s of warm-up traffic before each measured size.</summary>
    private static readonly TimeSpan WarmUpTime = TimeSpan.FromMilliseconds(500);

    private static async Task PushAsync(IPeer peer, byte channel, AgentChannel inbound, byte[] payload, long count, CancellationToken cancellationToken)
    {
        var receiver = Task.Run(async () =>
        {
            long got = 0;
            await foreach (var e in inbound.ReadAllAsync(cancellationToken))
                if (++got == count) return;
        }, cancellationToken);
        for (long i = 0; i < count; i++)
            if (!await peer.SendAsync(channel, payload, cancellationToken))
                throw new IOException("send failed: the connection went down during the benchmark");
        await receiver;
    }

    private static async Task<HarnessResult> RawTcpAsync(long bytes, CancellationToken cancellationToken)
    {
        var (client, server) = await LoopbackPairAsync(cancellationToken);
        using var _c = client;
        using var _s = server;
        var chunk = new byte[64 * 1024];
        var meter = Meter.Start();
        var reader = Task.Run(async () =>
        {
            var buf = new byte[64 * 1024];
            long got = 0;
            while (got < bytes)
            {
                var n = await server.ReceiveAsync(buf, cancellationToken);
                if (n == 0) throw new IOException("raw TCP baseline: connection closed early");
                got += n;
            }
        }, cancellationToken);
        for (long sent = 0; sent < bytes; sent += chunk.Length)
            await client.SendAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - sent)), cancellationToken);
        await reader;
        return meter.Stop("raw tcp", chunk.Length, bytes);
    }

    private static async Task<double> RawTcpLatencyAsync(int samples, CancellationToken cancellationToken)
    {
        var (client, server) = await LoopbackPairAsync(cancellationToken);
        using var _c = client;
        using var _s = server;
        var echo = Task.Run(async () =>
        {
            var buf = new byte[1024];
            for (var i = 0; i < samples; i++)
            {
                var got = 0;
                while (got < buf.Length) got += await server.ReceiveAsync(buf.AsMemory(got), cancellationToken);
                await server.SendAsync(buf, cancellationToken);
            }
        }, cancellationToken);
        var times = new double[samples];
        var msg = new byte[1024];
        var back = new byte[1024];
        for (var i = 0; i < samples; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await client.SendAsync(msg, cancellationToken);
            var got = 0;
            while (got < back.Length) got += await client.ReceiveAsync(back.AsMemory(got), cancellationToken);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        await echo;
        Array.Sort(times);
        return Percentile(times, 0.50);
    }

    private static async Task<(Socket Client, Socket Server)> LoopbackPairAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        var server = await listener.AcceptAsync(cancellationToken);
        server.NoDelay = true;
        return (client, server);
    }

    private static HarnessResult RawAead(long bytes)
    {
        // The same work per KiB as one direction of the secret connection: seal a 1028-byte frame and open it.
        using var aead = new ChaCha20Poly1305(RandomNumberGenerator.GetBytes(32));
        var plain = new byte[1028];
        var sealedFrame = new byte[1028];
        var tag = new byte[16];
        var nonce = new byte[12];
        var frames = Math.Max(1, bytes / 1024);
        for (var i = 0; i < 2000; i++) // warm-up
        {
            aead.Encrypt(nonce, plain, sealedFrame, tag);
            aead.Decrypt(nonce, sealedFrame, tag, plain);
        }
        var meter = Meter.Start();
        for (long i = 0; i < frames; i++)
        {
            BitConverter.TryWriteBytes(nonce.AsSpan(4), i);
            aead.Encrypt(nonce, plain, sealedFrame, tag);
            aead.Decrypt(nonce, sealedFrame, tag, plain);
        }
        return meter.Stop("raw aead", 1024, frames * 1024);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    public static string FormatSize(int size) =>
        size >= 1 << 20 ? $"{size >> 20} MiB" : size >= 1024 ? $"{size >> 10} KiB" : $"{size} B";

    /// <summary>A table a person can read, with the ratios spelled out (plain text; <see cref="Views.BenchView"/> draws it).</summary>
    public static string Render(HarnessReport r) => Views.BenchView.ToPlainText(r);
}
