using System.Diagnostics;
using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Cli.Bench;

/// <summary>Where the handshakes of <see cref="HandshakeRate"/> run.</summary>
internal enum HandshakeRateNetwork
{
    /// <summary>In-memory pipes (<see cref="MemoryNetwork"/>): the cost of the upgrade alone.</summary>
    Memory,

    /// <summary>Loopback TCP (<see cref="TcpTransport"/>): the upgrade plus connect, accept and the kernel's round trips.</summary>
    Tcp,
}

/// <summary>Settings of one <see cref="HandshakeRate.MeasureAsync"/> run.</summary>
/// <param name="Handshakes">Handshakes counted (after <paramref name="Warmup"/> uncounted ones).</param>
/// <param name="Concurrency">Dials in flight at once.</param>
/// <param name="Network">In-memory pipes or loopback TCP.</param>
/// <param name="Warmup">Handshakes run first and not counted, so the JIT and the thread pool have settled.</param>
internal sealed record HandshakeRateOptions(int Handshakes = 2000, int Concurrency = 4,
    HandshakeRateNetwork Network = HandshakeRateNetwork.Memory, int Warmup = 200)
{
    public void Validate()
    {
        if (Handshakes < 1) throw new ArgumentOutOfRangeException(nameof(Handshakes), "at least one handshake");
        if (Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(Concurrency), "at least one dial at a time");
        if (Warmup < 0) throw new ArgumentOutOfRangeException(nameof(Warmup), "cannot be negative");
    }
}

/// <summary>What one run measured.</summary>
/// <param name="Handshakes">Complete handshakes counted: both sides finished the upgrade.</param>
/// <param name="Concurrency">Dials in flight at once.</param>
/// <param name="Network">In-memory pipes or loopback TCP.</param>
/// <param name="Seconds">Wall-clock time of the counted handshakes.</param>
/// <param name="CpuSeconds">CPU time (user + kernel) this process used meanwhile, on all its threads.</param>
internal sealed record HandshakeRateResult(int Handshakes, int Concurrency, HandshakeRateNetwork Network, double Seconds, double CpuSeconds)
{
    /// <summary>Complete handshakes per second. Both ends run in this process, so each one costs two sides' work.</summary>
    public double PerSecond => Handshakes / Seconds;

    /// <summary>CPU time one complete handshake (both sides) took, in microseconds.</summary>
    public double CpuMicrosPerHandshake => CpuSeconds / Handshakes * 1e6;

    /// <summary>
    /// The rate the CPU time allows with every core of this machine to ourselves: on a shared machine the
    /// wall-clock rate depends on the neighbours, the CPU time per handshake much less.
    /// </summary>
    public double CpuBoundPerSecond => Environment.ProcessorCount * 1e6 / CpuMicrosPerHandshake;

    /// <summary>A line for the bench report, e.g. <c>handshakes (memory, 4 in flight): 1234/s …</c>.</summary>
    public override string ToString() =>
        $"handshakes ({Network.ToString().ToLowerInvariant()}, {Concurrency} in flight): {PerSecond:0}/s ({Handshakes} in {Seconds:0.00} s); " +
        $"{CpuMicrosPerHandshake:0} µs CPU each, {CpuBoundPerSecond:0}/s on {Environment.ProcessorCount} idle cores";
}

/// <summary>
/// Complete connection upgrades per second between two nodes in this process: dial, SecretConnection (X25519,
/// Merlin transcript, Ed25519 sign and verify on each side), NodeInfo exchange and every check of the peer
/// (<see cref="ITransport"/>'s full upgrade), with <see cref="HandshakeRateOptions.Concurrency"/> dials in flight.
/// A handshake counts when the dialer holds the connection and the listener has accepted it, so both sides' work
/// is in the figure; each connection is closed right after.
/// </summary>
internal static class HandshakeRate
{
    // 0x77: an arbitrary channel; the two NodeInfos only need one in common to be compatible.
    private static readonly byte[] Channels = [0x77];

    /// <summary>Runs the warm-up and then the counted handshakes; throws if any handshake fails.</summary>
    public static async Task<HandshakeRateResult> MeasureAsync(HandshakeRateOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var serverKey = NodeKey.Generate();
        using var clientKey = NodeKey.Generate();
        // Every dial comes from the same address; the duplicate-IP rule is for the internet, not for this loop.
        var transportOptions = new TransportOptions
        {
            AllowDuplicateIp = true,
            MaxIncomingConnections = Math.Max(50, 2 * options.Concurrency),
        };
        var memory = new MemoryNetwork();
        ITransport Create(NodeKey key) => options.Network == HandshakeRateNetwork.Memory
            ? memory.CreateTransport(key, options: transportOptions)
            : new TcpTransport(key, transportOptions);
        // One client transport per dialer: a transport holds at most one connection to a given remote address.
        var server = Create(serverKey);
        var clients = new ITransport[options.Concurrency];
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                clients[i] = Create(clientKey);
                clients[i].LocalNodeInfo = Info(clientKey.Id, "0.0.0.0:0", "client");
            }
            var address = await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cancellationToken).ConfigureAwait(false);
            server.LocalNodeInfo = Info(serverKey.Id, address.DialString, "server");

            if (options.Warmup > 0)
                await RunAsync(server, clients, address, clientKey.Id, serverKey.Id, options.Warmup, cancellationToken).ConfigureAwait(false);
            using var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            await RunAsync(server, clients, address, clientKey.Id, serverKey.Id, options.Handshakes, cancellationToken).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
            return new HandshakeRateResult(options.Handshakes, options.Concurrency, options.Network, seconds, cpu);
        }
        finally
        {
            foreach (var client in clients)
                if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static NodeInfo Info(NodeId id, string listenAddr, string moniker) => new()
    {
        Id = id,
        ListenAddr = listenAddr,
        Network = "handshake-rate",
        Version = "bench",
        Channels = Channels,
        Moniker = moniker,
        TxIndex = "off",
    };

    private static async Task RunAsync(ITransport server, ITransport[] clients, NetAddress address, NodeId clientId, NodeId serverId,
        int count, CancellationToken cancellationToken)
    {
        var accepting = AcceptAsync(server, clientId, count, cancellationToken);
        var next = 0;
        var dialers = new Task[Math.Min(clients.Length, count)];
        for (var i = 0; i < dialers.Length; i++)
        {
            var client = clients[i];
            dialers[i] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    var connection = await client.DialAsync(address, cancellationToken).ConfigureAwait(false);
                    await using (connection.ConfigureAwait(false))
                    {
                        if (connection.NodeInfo.Id != serverId)
                            throw new InvalidOperationException("a handshake authenticated the wrong node");
                    }
                }
            }, cancellationToken);
        }
        // A failed dial fails the run; the accept loop would then wait forever for the missing connections.
        var dialing = Task.WhenAll(dialers);
        if (await Task.WhenAny(dialing, accepting).ConfigureAwait(false) == dialing)
            await dialing.ConfigureAwait(false);
        await accepting.ConfigureAwait(false);
        await dialing.ConfigureAwait(false);
    }

    private static async Task AcceptAsync(ITransport server, NodeId clientId, int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            var connection = await server.AcceptAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                if (connection.NodeInfo.Id != clientId)
                    throw new InvalidOperationException("an accepted handshake authenticated the wrong node");
            }
        }
    }
}
