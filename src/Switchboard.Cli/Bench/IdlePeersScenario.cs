using System.Diagnostics;
using System.Globalization;
using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard.Cli.Bench;

/// <summary>Settings of the idle-peers scenario.</summary>
/// <param name="Peers">Idle encrypted peers connected to the hub (default 1,000).</param>
/// <param name="ClientsInProcess">Run the peers in this process instead of a child process: simpler, but then every
/// figure covers both ends of each connection plus a client Switch per peer.</param>
/// <param name="HubConnection">The hub's connection settings (null: the defaults), to see what a setting such as
/// <see cref="MConnectionOptions.WriteBufferSize"/> costs an idle peer.</param>
internal sealed record IdlePeersOptions(int Peers = 1000, bool ClientsInProcess = false, MConnectionOptions? HubConnection = null)
{
    /// <summary>Peers connected before the baseline is taken, so that start-up costs (JIT, pools, the first
    /// connection's statics) are not charged to the measured peers: a tenth of them, 1 to 50.</summary>
    public int WarmPeers => Math.Clamp(Peers / 10, 1, 50);

    public void Validate()
    {
        if (Peers < 2) throw new ArgumentException("Peers must be at least 2 (one warms up, the others are measured)");
    }
}

/// <summary>Memory of the process that holds the hub, after a full GC, at two points.</summary>
/// <param name="ResidentBytes">RSS.</param>
/// <param name="ManagedHeapBytes">Live managed objects (<see cref="GC.GetTotalMemory(bool)"/>).</param>
/// <param name="GcCommittedBytes">Memory the GC has committed (heap plus its free space and bookkeeping).</param>
/// <param name="Threads">Threads of the process.</param>
internal sealed record MemorySnapshot(long ResidentBytes, long ManagedHeapBytes, long GcCommittedBytes, int Threads)
{
    public static MemorySnapshot Take()
    {
        BenchPeers.FullCollect();
        using var self = Process.GetCurrentProcess();
        return new MemorySnapshot(BenchPeers.ResidentBytes(), GC.GetTotalMemory(forceFullCollection: false),
            GC.GetGCMemoryInfo(GCKind.Any).TotalCommittedBytes, self.Threads.Count);
    }
}

/// <summary>What the idle-peers scenario measured: the growth between <see cref="Baseline"/> (after
/// <see cref="IdlePeersOptions.WarmPeers"/> peers) and <see cref="Loaded"/> (after all of them), per measured peer.</summary>
/// <param name="Peers">Peers connected in the end.</param>
/// <param name="MeasuredPeers">Peers between the two snapshots.</param>
/// <param name="BothEnds">True when the peers ran in this process (each figure then covers a connection pair and a
/// client Switch); false when they ran in a child process and the figures are the hub's alone.</param>
/// <param name="ConnectSeconds">Time to connect the measured peers.</param>
/// <param name="FileLimit">The open-files limit in force (null where unknown).</param>
internal sealed record IdlePeersResult(int Peers, int MeasuredPeers, bool BothEnds, MemorySnapshot Baseline, MemorySnapshot Loaded,
    double ConnectSeconds, long? FileLimit)
{
    public double ResidentPerPeer => (Loaded.ResidentBytes - Baseline.ResidentBytes) / (double)MeasuredPeers;
    public double ManagedPerPeer => (Loaded.ManagedHeapBytes - Baseline.ManagedHeapBytes) / (double)MeasuredPeers;
    public double GcCommittedPerPeer => (Loaded.GcCommittedBytes - Baseline.GcCommittedBytes) / (double)MeasuredPeers;
    public double HandshakesPerSecond => MeasuredPeers / ConnectSeconds;

    public override string ToString() =>
        $"idle peers: {Peers} encrypted idle peers, {(BothEnds ? "both ends in this process (per connection pair + client Switch)" : "hub side only (peers in a child process)")}: " +
        $"RSS {ResidentPerPeer / 1024:0.0} KiB per peer (live managed objects {ManagedPerPeer / 1024:0.0} KiB, GC committed " +
        $"{GcCommittedPerPeer / 1024:0.0} KiB: buffers allocated but never written take no RSS); threads {Baseline.Threads} → {Loaded.Threads}; connected {MeasuredPeers} in {ConnectSeconds:0.00} s";
}

/// <summary>
/// Issue 13, items 3 and 6: what an idle encrypted peer costs the node it is connected to. A hub listens on
/// 127.0.0.1; peers (whole Switches over TCP, in a child process by default so the hub's process holds only its own
/// ends) connect in two steps — a few to warm up, then the rest — and after each step, once every peer is added,
/// a full compacting GC runs and RSS, the live managed heap and the GC's committed memory are read. The growth
/// between the two snapshots divided by the peers added is the cost of one idle peer.
/// </summary>
internal static class IdlePeersScenario
{
    /// <summary>The hidden first argument of the CLI that runs the child side (<see cref="RunClientsAsync"/>).</summary>
    public const string ClientCommand = "__bench-idle-clients";

    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    public static async Task<IdlePeersResult> RunAsync(IdlePeersOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        options.Validate();
        var ends = options.ClientsInProcess ? 2 : 1;
        var needed = (long)ends * options.Peers + 256;
        var limit = BenchPeers.EnsureFileLimit(needed);
        if (limit is { } l && l < needed - 192)
            throw new InvalidOperationException($"bench: {options.Peers} idle peers need about {needed} open files in this process; " +
                $"the limit is {l} (raise it with ulimit -n)");
        var (hub, _) = await BenchPeers.StartHubAsync(options.Peers, 1024, cancellationToken, options.HubConnection);
        try
        {
            await using var clients = options.ClientsInProcess
                ? (IClientSide)new InProcessClients(hub.ListenAddress!)
                : await ChildClients.StartAsync(hub.ListenAddress!, cancellationToken);
            var warm = options.WarmPeers;
            progress($"idle peers: warming up with {warm} peer(s) …");
            await clients.ConnectAsync(warm, cancellationToken);
            await BenchPeers.WaitForAsync(() => hub.Peers.Count == warm, StepTimeout, $"{warm} warm-up peers at the hub", cancellationToken);
            var baseline = MemorySnapshot.Take();
            progress($"idle peers: connecting {options.Peers - warm} more …");
            var clock = Stopwatch.StartNew();
            await clients.ConnectAsync(options.Peers - warm, cancellationToken);
            await BenchPeers.WaitForAsync(() => hub.Peers.Count == options.Peers, StepTimeout, $"{options.Peers} peers at the hub", cancellationToken);
            var connectSeconds = clock.Elapsed.TotalSeconds;
            var loaded = MemorySnapshot.Take();
            if (hub.Peers.Count != options.Peers)
                throw new IOException($"bench: {options.Peers - hub.Peers.Count} idle peer(s) went away during the measurement");
            return new IdlePeersResult(options.Peers, options.Peers - warm, options.ClientsInProcess, baseline, loaded, connectSeconds, limit);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    private interface IClientSide : IAsyncDisposable
    {
        /// <summary>Connects <paramref name="count"/> more peers; returns when each is connected on the client side.</summary>
        Task ConnectAsync(int count, CancellationToken cancellationToken);
    }

    private sealed class InProcessClients(NetAddress hub) : IClientSide
    {
        private readonly List<Switch> _nodes = [];

        public async Task ConnectAsync(int count, CancellationToken cancellationToken)
        {
            var batch = new Switch[count];
            try
            {
                await BenchPeers.ForEachConcurrentAsync(count, async (i, ct) =>
                {
                    batch[i] = (await BenchPeers.StartClientAsync(1024, ct)).Node;
                    await batch[i].DialPeerAsync(hub, ct);
                }, cancellationToken);
            }
            finally
            {
                _nodes.AddRange(batch.Where(n => n is not null));
            }
        }

        public async ValueTask DisposeAsync() => await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
    }

    /// <summary>The peers in a child process: <c>dotnet Switchboard.Cli.dll __bench-idle-clients HUB</c>, driven by lines on
    /// its standard input ("N": connect N more) and answering "connected N" on its standard output.</summary>
    private sealed class ChildClients : IClientSide
    {
        private readonly Process _process;
        private readonly Task<string> _errors;

        private ChildClients(Process process)
        {
            _process = process;
            _errors = process.StandardError.ReadToEndAsync();
        }

        public static Task<ChildClients> StartAsync(NetAddress hub, CancellationToken cancellationToken)
        {
            var cli = typeof(IdlePeersScenario).Assembly.Location;
            var self = Environment.ProcessPath ?? "dotnet";
            ProcessStartInfo psi;
            if (cli.Length == 0)
            {
                // Single-file app: the executable is the CLI itself.
                psi = new ProcessStartInfo(self);
            }
            else
            {
                var host = Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
                psi = new ProcessStartInfo(host);
                psi.ArgumentList.Add(cli);
            }
            psi.ArgumentList.Add(ClientCommand);
            psi.ArgumentList.Add(hub.ToString());
            psi.RedirectStandardInput = psi.RedirectStandardOutput = psi.RedirectStandardError = true;
            psi.UseShellExecute = false;
            cancellationToken.ThrowIfCancellationRequested();
            var process = Process.Start(psi) ?? throw new IOException("bench: could not start the child process for the idle peers");
            return Task.FromResult(new ChildClients(process));
        }

        public async Task ConnectAsync(int count, CancellationToken cancellationToken)
        {
            await _process.StandardInput.WriteLineAsync(count.ToString(CultureInfo.InvariantCulture).AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
            var line = await _process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(StepTimeout, cancellationToken);
            if (line != $"connected {count}")
            {
                var errors = _process.HasExited ? await _errors : "";
                throw new IOException($"bench: the idle-peer child process answered \"{line ?? "(end of output)"}\" to {count}: {errors.Trim()}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            // End of input: the child disconnects its peers and exits.
            try
            {
                _process.StandardInput.Close();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception ex) when (ex is TimeoutException or IOException)
            {
                _process.Kill(entireProcessTree: true);
            }
            finally
            {
                _process.Dispose();
            }
        }
    }

    /// <summary>
    /// The child side: dials <c>args[0]</c> (id@127.0.0.1:port) with more peers each time a count arrives on standard
    /// input, answers "connected N" (or "failed: reason"), and at the end of input disconnects everything and exits.
    /// </summary>
    public static async Task<int> RunClientsAsync(string[] args)
    {
        if (args.Length != 1 || !NetAddress.TryParse(args[0], out var hub))
        {
            await Console.Error.WriteLineAsync($"usage: switchboard {ClientCommand} ID@HOST:PORT (started by switchboard bench)");
            return ExitCodes.Usage;
        }
        BenchPeers.EnsureFileLimit(1 << 20);
        var clients = new InProcessClients(hub);
        try
        {
            while (await Console.In.ReadLineAsync() is { } line)
            {
                if (!int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
                {
                    await Console.Out.WriteLineAsync($"failed: not a count: {line}");
                    continue;
                }
                try
                {
                    await clients.ConnectAsync(count, CancellationToken.None);
                    await Console.Out.WriteLineAsync($"connected {count}");
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    await Console.Out.WriteLineAsync($"failed: {ex.GetType().Name}: {ex.Message}");
                }
                await Console.Out.FlushAsync();
            }
            return ExitCodes.Ok;
        }
        finally
        {
            await clients.DisposeAsync();
        }
    }
}
