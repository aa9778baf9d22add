using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Transport;

namespace Switchboard.Cli.Bench;

/// <summary>
/// What the many-peer scenarios share: one hub node that accepts N inbound peers on 127.0.0.1, client nodes that dial
/// it (each a whole Switch over TCP: SecretConnection + MConnection, as a real peer), the file-descriptor limit and the
/// process's resident memory.
/// </summary>
internal static class BenchPeers
{
    /// <summary>0x77: the bench channel (the harness's).</summary>
    public const byte Channel = 0x77;

    /// <summary>"bench": the chain ID every bench node uses.</summary>
    public const string Network = "bench";

    /// <summary>Dials in flight at once: enough to keep both cores busy with handshakes, few enough that none nears
    /// the 3 s dial or 20 s handshake deadline on a loaded machine.</summary>
    public const int DialConcurrency = 16;

    public static ChannelDescriptor Descriptor(int maxMessage) =>
        new(Channel, 1) { SendQueueCapacity = 256, RecvMessageCapacity = Math.Max(maxMessage, 1024), RecvQueueBytes = 1 << 20 };

    /// <summary>A listening hub that admits <paramref name="peers"/> inbound peers (and a few more handshakes at once).</summary>
    public static async Task<(Switch Hub, AgentChannel Channel)> StartHubAsync(int peers, int maxMessage, CancellationToken cancellationToken,
        MConnectionOptions? connection = null)
    {
        var key = NodeKey.Generate();
        var transport = new TcpTransport(key, new TransportOptions { AllowDuplicateIp = true, MaxIncomingConnections = peers + DialConcurrency });
        var hub = new Switch(transport, key, new SwitchOptions
        {
            Network = Network,
            Moniker = "bench-hub",
            AllowDuplicateIp = true,
            DialJitter = TimeSpan.Zero,
            MaxInboundPeers = peers,
            MaxOutboundPeers = 0,
            Connection = connection ?? new MConnectionOptions(),
        });
        var channel = hub.OpenChannel(Descriptor(maxMessage));
        try
        {
            await hub.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), cancellationToken);
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
        }
        return (hub, channel);
    }

    /// <summary>A client node that does not listen, with the bench channel registered.</summary>
    public static async Task<(Switch Node, AgentChannel Channel)> StartClientAsync(int maxMessage, CancellationToken cancellationToken)
    {
        var key = NodeKey.Generate();
        var node = new Switch(new TcpTransport(key, new TransportOptions { AllowDuplicateIp = true }), key, new SwitchOptions
        {
            Network = Network,
            Moniker = "bench-client",
            AllowDuplicateIp = true,
            DialJitter = TimeSpan.Zero,
        });
        var channel = node.OpenChannel(Descriptor(maxMessage));
        await node.StartAsync(null, cancellationToken);
        return (node, channel);
    }

    /// <summary>Runs <paramref name="work"/> for 0..count-1 with <see cref="DialConcurrency"/> at a time.</summary>
    public static Task ForEachConcurrentAsync(int count, Func<int, CancellationToken, ValueTask> work, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = DialConcurrency, CancellationToken = cancellationToken }, work);

    /// <summary>Waits for <paramref name="condition"/>, checking every 10 ms, until <paramref name="timeout"/>.</summary>
    public static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"bench: {what} not reached within {timeout.TotalSeconds:0} s");
            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>Resident set size of this process in bytes (VmRSS on Linux).</summary>
    public static long ResidentBytes()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }

    /// <summary>A full, blocking, compacting collection with finalizers run, so what is left is what is live. The large
    /// object heap is not compacted: a node's GC rarely does that, and copying untouched pooled buffers would make
    /// them resident.</summary>
    public static void FullCollect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>
    /// Raises the soft limit on open files to <paramref name="needed"/> (up to the hard limit) on Linux and returns the
    /// soft limit in force afterwards; null where it cannot be read (other systems).
    /// </summary>
    public static long? EnsureFileLimit(long needed)
    {
        if (!OperatingSystem.IsLinux()) return null;
        const int RlimitNofile = 7;
        if (getrlimit(RlimitNofile, out var limit) != 0) return null;
        if (limit.Current >= (ulong)needed) return (long)limit.Current;
        var raised = limit with { Current = Math.Min((ulong)needed, limit.Maximum) };
        if (setrlimit(RlimitNofile, in raised) == 0) limit = raised;
        return (long)limit.Current;
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct RLimit(ulong Current, ulong Maximum);

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, in RLimit limit);

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
