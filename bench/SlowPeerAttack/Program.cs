// The slow-consumer attack from the outside: N peers that complete the real handshake, then send messages of a given
// size on the echo channel and never read a byte (reconnecting whenever they are cut), against a node running
// `switchboard start --echo 0x77`; meanwhile one honest peer measures its echo round trips, and the node's RSS is
// sampled from /proc. Loopback only. Usage:
//   dotnet run --project bench/SlowPeerAttack -c Release -- ID@127.0.0.1:PORT --pid NODE_PID [--attackers 3]
//       [--size 4194304] [--duration 30] [--idle 15] [--chain-id switchboard]
using Stopwatch = System.Diagnostics.Stopwatch;
using System.Net;
using Switchboard;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

var target = NetAddress.Parse(args[0]);
int Arg(string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 ? int.Parse(args[i + 1]) : fallback;
string ArgS(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 ? args[i + 1] : fallback;
var pid = Arg("--pid", 0);
var attackers = Arg("--attackers", 3);
var size = Arg("--size", 4 << 20);
var duration = TimeSpan.FromSeconds(Arg("--duration", 30));
var idle = TimeSpan.FromSeconds(Arg("--idle", 15));
var chain = ArgS("--chain-id", "switchboard");
const byte Channel = 0x77;
var descriptor = new ChannelDescriptor(Channel, 1) { RecvMessageCapacity = 4 << 20, SendQueueCapacity = 64 };

long Rss()
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    return 0;
}

NodeInfo Info(NodeKey key, string moniker) => new()
{
    ProtocolVersion = new ProtocolVersion(8, 11, 0), Id = key.Id, ListenAddr = "0.0.0.0:0", Network = chain,
    Version = "0.38.19", Channels = new[] { Channel }, Moniker = moniker, TxIndex = "off",
};

var baseline = Rss();
var maxRss = baseline;
using var stop = new CancellationTokenSource();
var sampler = Task.Run(async () =>
{
    while (!stop.IsCancellationRequested)
    {
        maxRss = Math.Max(maxRss, Rss());
        try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
    }
});

// The honest peer: a normal Switch with an agent on the echo channel.
var honestKey = NodeKey.Generate();
await using var honest = new Switch(new TcpTransport(honestKey, new TransportOptions { AllowDuplicateIp = true }), honestKey,
    new SwitchOptions { Network = chain, AllowDuplicateIp = true, DialJitter = TimeSpan.Zero });
var channel = honest.OpenChannel(descriptor);
await honest.StartAsync(null);
var link = await honest.DialPeerAsync(target);
var rtts = new List<double>();
var lost = 0;
var prober = Task.Run(async () =>
{
    var payload = new byte[1024];
    while (!stop.IsCancellationRequested)
    {
        var clock = Stopwatch.StartNew();
        if (!link.TrySend(Channel, payload)) { lost++; break; }
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await channel.ReadAsync(wait.Token);
            lock (rtts) rtts.Add(clock.Elapsed.TotalMilliseconds);
        }
        catch (OperationCanceledException) { lost++; }
        try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
    }
});

var connections = 0;
long sent = 0;
var message = new byte[size];
new Random(1).NextBytes(message);
async Task AttackAsync()
{
    while (!stop.IsCancellationRequested)
    {
        var key = NodeKey.Generate();
        await using var transport = new TcpTransport(key, new TransportOptions { AllowDuplicateIp = true });
        transport.LocalNodeInfo = Info(key, "attacker");
        TransportConnection conn;
        try { conn = await transport.DialAsync(target, stop.Token); }
        catch (Exception) when (!stop.IsCancellationRequested) { await Task.Delay(100); continue; }
        catch (OperationCanceledException) { return; }
        Interlocked.Increment(ref connections);
        var closed = new TaskCompletionSource();
        await using var mconn = new MConnection(new NeverRead(conn.Stream), [descriptor], new Handler(closed),
            new MConnectionOptions { PingInterval = TimeSpan.FromHours(1), PongTimeout = TimeSpan.FromMinutes(59), WriteStallTimeout = TimeSpan.FromHours(1), SendTimeout = TimeSpan.FromSeconds(1) });
        mconn.Start();
        while (!stop.IsCancellationRequested && mconn.IsRunning)
        {
            try
            {
                if (await mconn.SendAsync(Channel, message, stop.Token)) Interlocked.Increment(ref sent);
            }
            catch (OperationCanceledException) { break; }
        }
        await conn.DisposeAsync();
    }
}
var attacks = Enumerable.Range(0, attackers).Select(_ => Task.Run(AttackAsync)).ToArray();
await Task.Delay(duration);
var duringMax = maxRss;
stop.Cancel();
await Task.WhenAll(attacks);
await prober;
await sampler;
// Idle: the node should give the memory back.
await Task.Delay(idle);
var after = Rss();
rtts.Sort();
double P(double q) => rtts.Count == 0 ? double.NaN : rtts[Math.Min(rtts.Count - 1, (int)(q * rtts.Count))];
Console.WriteLine($"attackers {attackers} x {size} B messages for {duration.TotalSeconds:0} s: {connections} connections, {sent} messages queued by them");
Console.WriteLine($"node RSS: baseline {baseline >> 20} MiB, max during attack +{(duringMax - baseline) >> 20} MiB, after {idle.TotalSeconds:0} s idle +{(after - baseline) >> 20} MiB");
Console.WriteLine($"honest echo (1 KiB every 50 ms): {rtts.Count} round trips, {lost} lost/timed out; p50 {P(0.5):0.00} ms, p90 {P(0.9):0.00} ms, p99 {P(0.99):0.00} ms, max {(rtts.Count > 0 ? rtts[^1] : double.NaN):0.00} ms; honest peer still connected: {link.IsRunning}");

sealed class Handler(TaskCompletionSource closed) : IMConnectionHandler
{
    public ValueTask OnMessageAsync(byte channelId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    public void OnClosed(Exception? error) => closed.TrySetResult();
}

/// <summary>The attacker's transport: writes go out, reads never complete.</summary>
sealed class NeverRead(Stream inner) : Stream
{
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
