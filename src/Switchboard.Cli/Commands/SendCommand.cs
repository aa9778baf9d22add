using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Config;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Cli.Commands;

/// <summary>What to send: <paramref name="Count"/> messages of <paramref name="Size"/> bytes, at most <paramref name="Window"/> unanswered.</summary>
internal sealed record SendRequest(DialAddress Target, byte Channel, int Count, int Size, int Window, TimeSpan Timeout)
{
    /// <summary>1024: more in flight only adds queueing delay; the echo node queues 64 per peer anyway.</summary>
    public const int MaxWindow = 1024;

    /// <summary>Checks the numbers; a bad one is a usage error.</summary>
    public void Validate()
    {
        if (Count < 1) throw new ConfigException("--count must be at least 1");
        if (Size < EchoPayload.HeaderSize) throw new ConfigException($"--size must be at least {EchoPayload.HeaderSize} (the sequence number)");
        if (Size > ChannelDescriptor.DefaultRecvMessageCapacity)
            throw new ConfigException($"--size must be at most {ChannelDescriptor.DefaultRecvMessageCapacity} (CometBFT's largest channel message; switchboard's echo accepts {EchoReactorLimit})");
        if (Window is < 1 or > MaxWindow) throw new ConfigException($"--window must be from 1 to {MaxWindow}");
    }

    private const int EchoReactorLimit = Hosting.EchoReactor.MaxMessageSize;

    /// <summary>
    /// 8 MiB: at most this many payload bytes unanswered. An echo node queues the echoes a peer has not read yet, up to
    /// its per-peer send budget (16 MiB by default), and disconnects a peer that goes beyond as not reading; half of it
    /// leaves room for what is in the sockets. A window of 64 1 MiB messages would be 64 MiB in flight.
    /// </summary>
    public const int MaxInFlightBytes = 8 << 20;

    /// <summary>The window actually used: <see cref="Window"/>, lowered so that at most <see cref="MaxInFlightBytes"/>
    /// are in flight (never below 1).</summary>
    public int EffectiveWindow => Math.Max(1, Math.Min(Window, MaxInFlightBytes / Size));
}

/// <summary>The outcome of a <c>send</c> run.</summary>
internal sealed record SendReport
{
    public bool Ok { get; init; }
    public string Target { get; init; } = "";
    public string Channel { get; init; } = "";
    public int Count { get; init; }
    public int Size { get; init; }
    public int Window { get; init; }
    /// <summary>Echoes received that matched, in order (all of them when <see cref="Ok"/>).</summary>
    public int Matched { get; init; }
    public double ConnectMs { get; init; }
    /// <summary>From the first send to the last matched echo.</summary>
    public double ElapsedMs { get; init; }
    /// <summary>Payload megabytes (10^6 bytes) per second in each direction.</summary>
    public double MegabytesPerSecond { get; init; }
    public double MessagesPerSecond { get; init; }
    public LatencyReport? LatencyMs { get; init; }
    public Failure? Error { get; init; }
}

/// <summary>Round-trip time percentiles (nearest rank) in milliseconds, from queueing a message to receiving its echo.</summary>
internal sealed record LatencyReport(double P50, double P90, double P99, double Max)
{
    public static LatencyReport? From(ReadOnlySpan<double> samples)
    {
        if (samples.IsEmpty) return null;
        var sorted = samples.ToArray();
        Array.Sort(sorted);
        return new(Rank(0.50), Rank(0.90), Rank(0.99), sorted[^1]);

        double Rank(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>
/// The test messages: an 8-byte big-endian sequence number followed by a pattern derived from it, so every message
/// differs and any swap, truncation or corrupted byte is caught and located.
/// </summary>
internal static class EchoPayload
{
    public const int HeaderSize = 8;

    public static byte[] Create(long sequence, int size)
    {
        var message = new byte[size];
        Fill(sequence, message);
        return message;
    }

    public static void Fill(long sequence, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, sequence);
        var seed = (int)(sequence * 31);
        for (var j = HeaderSize; j < destination.Length; j++) destination[j] = (byte)(seed + j * 7 + (j >> 8));
    }

    /// <summary>Null when <paramref name="received"/> is exactly message <paramref name="sequence"/>, else what differs.</summary>
    public static string? Describe(ReadOnlySpan<byte> received, ReadOnlySpan<byte> expected, long sequence)
    {
        if (received.SequenceEqual(expected)) return null;
        if (received.Length != expected.Length) return $"echo #{sequence} has {received.Length} bytes, expected {expected.Length}";
        var got = BinaryPrimitives.ReadInt64BigEndian(received);
        if (got != sequence) return $"echo #{sequence} carries sequence number {got} (out of order or not ours)";
        var offset = received.CommonPrefixLength(expected);
        return $"echo #{sequence} differs at byte {offset}: 0x{received[offset]:x2}, expected 0x{expected[offset]:x2}";
    }
}

/// <summary>Dials an echoing node with its own Switch and measures echoed throughput and latency.</summary>
internal static class EchoLoad
{
    public static async Task<SendReport> RunAsync(SendRequest request, NodeKey key, string chainId, string moniker,
        ILoggerFactory loggerFactory, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        request.Validate();
        var report = new SendReport
        {
            Target = request.Target.ToString(),
            Channel = Addresses.FormatChannel(request.Channel),
            Count = request.Count,
            Size = request.Size,
            Window = request.EffectiveWindow,
        };
        var transport = new TcpTransport(key,
            new TransportOptions { DialTimeout = request.Timeout, HandshakeTimeout = request.Timeout, AllowDuplicateIp = true },
            loggerFactory.CreateLogger("Switchboard.Transport"));
        var options = new SwitchOptions
        {
            Network = chainId,
            Moniker = moniker,
            DialJitter = TimeSpan.Zero,
            AllowDuplicateIp = true,
            Connection = new MConnectionOptions { SendTimeout = request.Timeout },
        };
        await using var sw = new Switch(transport, key, options, loggerFactory);
        var channel = sw.OpenChannel(
            new ChannelDescriptor(request.Channel, Priority: 1)
            {
                SendQueueCapacity = request.EffectiveWindow,
                RecvMessageCapacity = request.Size,
                // Room for a window of echoes (at least one, at most 16 MiB) before reading pauses.
                RecvQueueBytes = (int)Math.Clamp((long)request.EffectiveWindow * request.Size, request.Size, Math.Max(request.Size, 16 << 20)),
            });
        await sw.StartAsync(listen: null, cancellationToken).ConfigureAwait(false);

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Failure? failure = null;
        void Fail(Failure f)
        {
            Interlocked.CompareExchange(ref failure, f, null);
            failed.Cancel();
        }

        // Subscribed before dialing, so a disconnect right after the handshake is not missed.
        var events = sw.WatchPeersAsync(failed.Token);
        var clock = Stopwatch.StartNew();
        IPeer peer;
        try
        {
            peer = await sw.DialPeerAsync(request.Target, failed.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is P2PException or IOException or System.Net.Sockets.SocketException)
        {
            return report with { Error = Failure.From(ex), ConnectMs = clock.Elapsed.TotalMilliseconds };
        }
        report = report with { ConnectMs = clock.Elapsed.TotalMilliseconds };
        progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"  connected to {peer.Id} ({peer.NodeInfo.Moniker}) in {report.ConnectMs:0.0} ms"));
        if (!peer.HasChannel(request.Channel))
            return report with
            {
                Error = new Failure("rejected", "NoEchoChannel",
                    $"the peer does not serve channel {report.Channel} (its channels: {Addresses.FormatChannels(peer.NodeInfo.Channels.Span)}); start it with --echo {report.Channel}"),
            };

        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(failed.Token);
        var watcher = WatchAsync(events, peer.Id, Fail, stopWatching.Token);

        var sentAt = new long[request.Count];
        var rtt = new double[request.Count];
        using var credits = new SemaphoreSlim(request.EffectiveWindow, request.EffectiveWindow);
        var start = Stopwatch.GetTimestamp();
        var producer = ProduceAsync(peer, request, sentAt, credits, Fail, failed.Token);

        var received = 0;
        var expected = new byte[request.Size];
        var lastProgress = start;
        using (var idle = CancellationTokenSource.CreateLinkedTokenSource(failed.Token))
        {
            while (received < request.Count)
            {
                idle.CancelAfter(request.Timeout);
                Envelope echo;
                try
                {
                    echo = await channel.ReadAsync(idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The first recorded failure wins: a lost connection cancels this read too.
                    Fail(cancellationToken.IsCancellationRequested
                        ? new Failure("cancelled", null, $"cancelled after {received} of {request.Count} echoes")
                        : new Failure("timeout", "echo", $"no echo for {Duration.Format(request.Timeout)} after {received} of {request.Count}"));
                    break;
                }
                catch (ChannelClosedException)
                {
                    Fail(new Failure("connection_lost", null, "the switch stopped"));
                    break;
                }
                var now = Stopwatch.GetTimestamp();
                EchoPayload.Fill(received, expected);
                if (EchoPayload.Describe(echo.Message.Span, expected, received) is { } mismatch)
                {
                    Fail(new Failure("mismatch", null, mismatch));
                    break;
                }
                rtt[received] = Stopwatch.GetElapsedTime(sentAt[received], now).TotalMilliseconds;
                received++;
                credits.Release();
                if (progress is not null && Stopwatch.GetElapsedTime(lastProgress, now) >= TimeSpan.FromSeconds(1))
                {
                    lastProgress = now;
                    var seconds = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
                    progress(string.Create(CultureInfo.InvariantCulture,
                        $"  {received}/{request.Count} echoed ({100.0 * received / request.Count:0}%), {(double)received * request.Size / seconds / 1e6:0.00} MB/s"));
                }
            }
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        await stopWatching.CancelAsync().ConfigureAwait(false);
        if (received < request.Count) await failed.CancelAsync().ConfigureAwait(false);
        await producer.ConfigureAwait(false);
        await watcher.ConfigureAwait(false);

        var ok = received == request.Count;
        return report with
        {
            Ok = ok,
            Matched = received,
            ElapsedMs = elapsed.TotalMilliseconds,
            MegabytesPerSecond = (double)received * request.Size / elapsed.TotalSeconds / 1e6,
            MessagesPerSecond = received / elapsed.TotalSeconds,
            LatencyMs = LatencyReport.From(rtt.AsSpan(0, received)),
            Error = ok ? null : failure ?? new Failure("error", null, "stopped before every echo arrived"),
        };
    }

    private static async Task ProduceAsync(IPeer peer, SendRequest request, long[] sentAt, SemaphoreSlim credits,
        Action<Failure> fail, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            for (var i = 0; i < request.Count; i++)
            {
                await credits.WaitAsync(cancellationToken).ConfigureAwait(false);
                var message = EchoPayload.Create(i, request.Size);
                sentAt[i] = Stopwatch.GetTimestamp();
                if (!await peer.SendAsync(request.Channel, message, cancellationToken).ConfigureAwait(false))
                {
                    fail(new Failure("send_failed", null,
                        $"message #{i} could not be queued (connection down, or no room within {Duration.Format(request.Timeout)})"));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Finished early: a failure was recorded, or the run was cancelled.
        }
    }

    private static async Task WatchAsync(IAsyncEnumerable<PeerEvent> events, NodeId peer, Action<Failure> fail, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (e is PeerRemoved removed && removed.Peer.Id == peer)
                {
                    fail(new Failure("connection_lost", removed.Reason.Kind.ToString(), removed.Reason.Message));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    public static void Print(SendReport report, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        if (report.Ok) output.WriteLine(string.Create(c, $"OK: {report.Matched}/{report.Count} echoes matched byte for byte, in order"));
        else output.WriteLine(string.Create(c, $"FAILED: {report.Matched}/{report.Count} echoes matched; {report.Error}"));
        if (report.Matched == 0) return;
        output.WriteLine(string.Create(c, $"  elapsed     {report.ElapsedMs / 1000:0.000} s for {(double)report.Matched * report.Size / 1e6:0.###} MB each way"));
        output.WriteLine(string.Create(c, $"  throughput  {report.MegabytesPerSecond:0.00} MB/s, {report.MessagesPerSecond:0} msgs/s (payload, each way)"));
        if (report.LatencyMs is { } l)
            output.WriteLine(string.Create(c, $"  round trip  p50 {l.P50:0.000} ms, p90 {l.P90:0.000} ms, p99 {l.P99:0.000} ms, max {l.Max:0.000} ms"));
    }
}

/// <summary><c>switchboard send --to id@host:port --count N --size BYTES</c>.</summary>
internal static class SendCommand
{
    /// <summary>0x77: the channel <c>start --echo</c> is usually given; outside CometBFT's standard channel ranges.</summary>
    public const byte DefaultChannel = 0x77;

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static Command Create(CliEnvironment environment)
    {
        var to = new Option<string>("--to") { Description = "The echoing node: id@host:port (run it with `start --echo 0x77`)", Required = true };
        var count = new Option<int>("--count") { Description = "Messages to send", DefaultValueFactory = _ => 1000 };
        var size = new Option<int>("--size") { Description = "Bytes per message (at least 8)", DefaultValueFactory = _ => 1024 };
        var channel = CommandSupport.Channel("Channel the node echoes (default 0x77)");
        var window = new Option<int>("--window") { Description = "Messages in flight (sent, echo not yet received); lowered so that at most 8 MiB are in flight", DefaultValueFactory = _ => 64 };
        var timeout = CommandSupport.Timeout(DefaultTimeout, "Limit for the connect, the handshake, and the wait for each next echo");
        var json = CommandSupport.Json();
        var identity = new IdentityOptions("switchboard-send");
        var command = new Command("send", "Send messages to a node that echoes them, check every echo, print throughput and round-trip latency");
        foreach (var o in new Option[] { to, count, size, channel, window, timeout, json }) command.Options.Add(o);
        identity.AddTo(command);

        CommandSupport.SetAction(command, environment, async context =>
        {
            var request = new SendRequest(ProbeCommand.ParseTarget(context.Get(to), "--to"), context.Get(channel) ?? DefaultChannel,
                context.Get(count), context.Get(size), context.Get(window), context.Get(timeout) ?? DefaultTimeout);
            request.Validate();
            var asJson = context.Get(json);
            var (key, chainId, moniker) = identity.Resolve(context);
            using (key)
            {
                if (!asJson)
                {
                    var capped = request.EffectiveWindow < request.Window
                        ? string.Create(CultureInfo.InvariantCulture, $" (of {request.Window}: at most {SendRequest.MaxInFlightBytes >> 20} MiB in flight)")
                        : "";
                    await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"send: {request.Count} x {request.Size} B on channel {Addresses.FormatChannel(request.Channel)} to {request.Target}, window {request.EffectiveWindow}{capped}"));
                }
                var report = await EchoLoad.RunAsync(request, key, chainId, moniker, context.LoggerFactory,
                    asJson ? null : line => context.Out.WriteLine(line), context.CancellationToken);
                if (asJson) await context.Out.WriteLineAsync(JsonSerializer.Serialize(report, CliJsonContext.Output.SendReport));
                else EchoLoad.Print(report, context.Out);
                return report.Ok ? ExitCodes.Ok : ExitCodes.Failure;
            }
        });
        return command;
    }
}
