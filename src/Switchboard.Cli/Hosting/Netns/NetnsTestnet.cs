using System.Globalization;
using System.Net;
using Switchboard.Cli.Config;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>Settings of a <see cref="NetnsTestnet"/> beyond its <see cref="Scenario"/>.</summary>
internal sealed record NetnsTestnetOptions
{
    public required Scenario Scenario { get; init; }

    /// <summary>Directory that receives one home per node (node-0, node-1, …).</summary>
    public required string Root { get; init; }

    public string ChainId { get; init; } = "switchboard-chaos";

    /// <summary>How often each node reports: the resolution of the reconnect times. 500 ms.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Level of the nodes' own log lines (in each home's node.log).</summary>
    public string NodeLogLevel { get; init; } = "Warning";

    /// <summary>
    /// The command that runs this CLI (file and leading arguments); default: this process's host and entry
    /// assembly (<c>dotnet Switchboard.Cli.dll</c>, or the <c>switchboard</c> executable).
    /// </summary>
    public (string File, IReadOnlyList<string> Args)? Self { get; init; }

    /// <summary>
    /// Ping every 3 s, pong within 2.5 s: a connection across a partition is declared dead in about 5 s instead of the
    /// minute and a half of CometBFT's 60 s / 45 s, so a one-minute fault cycle sees real disconnects and reconnects;
    /// 2.5 s leaves room for a few TCP retransmissions at 50 ms ± 20 ms and 1 % loss.
    /// </summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan PongTimeout { get; init; } = TimeSpan.FromMilliseconds(2500);
}

/// <summary>
/// The chaos testnet: every node in its own network namespace, all of them on one bridge of this process
/// (<see cref="LinkEmulator"/> over TUN devices, shaped as the scenario says), each node a separate
/// <c>switchboard testnet-node</c> process with its own home; node 0 is the others' seed, and they find each other by
/// PEX. The coordinator runs the scripted faults, follows every node's status lines, measures the reconnection after
/// each heal and restart, and judges the run (<see cref="ChaosReport"/>). Addresses: 10.77.0.(i+1)/24 inside the
/// namespaces only; the root namespace gets no address and no route, so no packet of the testnet can leave it.
/// Everything it made — processes, devices, namespaces — is removed on dispose, and a later run sweeps what a killed
/// coordinator left (<see cref="Netns.SweepStale"/>).
/// </summary>
internal sealed class NetnsTestnet : IAsyncDisposable
{
    /// <summary>26656: CometBFT's p2p port; each node has its own address, so all use it.</summary>
    public const int Port = 26656;

    private readonly NetnsTestnetOptions _options;
    private readonly TextWriter _progress;
    private readonly string _run;
    private readonly List<string> _namespaces = [];
    private readonly List<TunDevice> _devices = [];
    private readonly List<ChaosProcess> _nodes = [];
    private readonly Dictionary<string, int> _byId = [];
    private readonly List<ChaosRecovery> _recoveries = [];
    private readonly List<OpenRecovery> _open = [];
    private readonly List<string> _faultLog = [];
    private readonly List<string> _unexpected = [];
    private readonly List<Task> _background = [];
    private readonly Lock _lock = new();
    private readonly Random _random;
    private readonly DateTimeOffset _created = DateTimeOffset.UtcNow;
    private LinkEmulator? _links;
    private DateTimeOffset _faultsStart;
    private bool _stopping;
    private int _disposed;

    private NetnsTestnet(NetnsTestnetOptions options, TextWriter progress)
    {
        _options = options;
        _progress = progress;
        _run = Netns.NewRunName();
        _random = new Random(options.Scenario.Seed);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public Scenario Scenario => _options.Scenario;

    public IReadOnlyList<ChaosProcess> Nodes => _nodes;

    /// <summary>The namespace names of this run (for tests: they must all be gone after dispose).</summary>
    public IReadOnlyList<string> Namespaces => _namespaces;

    public static IPAddress AddressOf(int index) => new([10, 77, 0, (byte)(index + 1)]);

    /// <summary>
    /// Makes the namespaces, devices and homes and starts every node. Throws <see cref="NetnsUnavailableException"/>
    /// when the machine cannot (not root, no iproute2, no TUN), before anything is made.
    /// </summary>
    public static async Task<NetnsTestnet> StartAsync(NetnsTestnetOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        options.Scenario.Validate();
        if (options.Scenario.Nodes > 250) throw new ConfigException("at most 250 nodes (one /24)");
        if (Netns.Unavailable() is { } reason) throw new NetnsUnavailableException(reason);
        var swept = Netns.SweepStale();
        var net = new NetnsTestnet(options, progress);
        try
        {
            if (swept > 0) net.Say($"swept {swept} namespace(s) left by a run that no longer exists");
            await Task.Run(net.Build, cancellationToken).ConfigureAwait(false);
            net.Say($"{options.Scenario.Nodes} namespaces {net._run}n0…n{options.Scenario.Nodes - 1}, addresses 10.77.0.1–{options.Scenario.Nodes}, links: {options.Scenario.Link}");
            foreach (var n in net._nodes) net.Launch(n);
        }
        catch
        {
            await net.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return net;
    }

    private void Build()
    {
        var s = Scenario;
        var addresses = new List<IPAddress>();
        for (var i = 0; i < s.Nodes; i++)
        {
            var ns = $"{_run}n{i}";
            Netns.Add(ns);
            _namespaces.Add(ns);
            _devices.Add(TunDevice.Create(ns, "sb0"));
            var ip = AddressOf(i);
            Netns.IpIn(ns, "link", "set", "lo", "up");
            Netns.IpIn(ns, "addr", "add", ip + "/24", "dev", "sb0");
            Netns.IpIn(ns, "link", "set", "sb0", "up");
            addresses.Add(ip);
        }
        _links = new LinkEmulator(_devices, addresses, s.Link, s.Seed);
        _links.Start();
        string? seed = null;
        for (var i = 0; i < s.Nodes; i++)
        {
            var ip = AddressOf(i);
            var config = new NodeConfig
            {
                Moniker = "chaos-node-" + i.ToString(CultureInfo.InvariantCulture),
                ChainId = _options.ChainId,
                LogLevel = "info",
                P2P = new P2PConfig
                {
                    ListenAddress = $"tcp://{ip}:{Port}",
                    DialJitter = TimeSpan.FromMilliseconds(500),
                },
                Pex = new PexConfig
                {
                    Seeds = seed is null ? [] : [seed],
                    AddrBookStrict = false, // 10.77.0.0/24 is private
                },
                MConnection = new MConnectionConfig { PingInterval = _options.PingInterval, PongTimeout = _options.PongTimeout },
                Rpc = new RpcConfig { Laddr = "" },
            };
            var home = new NodeHome(Path.Combine(_options.Root, "node-" + i.ToString(CultureInfo.InvariantCulture)));
            var id = home.Init(config).NodeId.ToString();
            seed ??= $"{id}@{ip}:{Port}";
            var node = new ChaosProcess(i, _namespaces[i], ip.ToString(), home.Root, id) { StatusReceived = OnStatus, Exited = OnExited };
            _nodes.Add(node);
            _byId[id] = i;
        }
    }

    private (string File, IReadOnlyList<string> Args) Self()
    {
        if (_options.Self is { } self) return self;
        var entry = typeof(NetnsTestnet).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") return (host, [entry]);
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet) return (dotnet, [entry]);
        return (host, []); // the switchboard executable (apphost) itself
    }

    /// <summary>Starts a process for the node unless one runs (a restart and a kill of the same node may overlap).</summary>
    private bool Launch(ChaosProcess node)
    {
        if (node.IsRunning) return false;
        var (file, prefix) = Self();
        node.Start(file, [.. prefix, "testnet-node", "--home", node.Home, "--gossip-interval", Duration.Format(Scenario.GossipInterval),
            "--status-interval", Duration.Format(_options.StatusInterval), "--log-level", _options.NodeLogLevel]);
        return true;
    }

    /// <summary>Runs the scenario: waits for the network to form, plays the faults, drains, stops the nodes, and judges.</summary>
    public async Task<ChaosReport> RunAsync(CancellationToken cancellationToken)
    {
        var s = Scenario;
        var formation = Open("formation", _created, s.FormTimeout);
        var formed = await WaitAsync(formation, cancellationToken).ConfigureAwait(false);
        double? formedAfter = formed ? formation.Result?.ReconnectSeconds : null;
        if (formed) Say(FormattableString.Invariant($"formed after {formedAfter:0.0} s: every node hears all {s.Nodes - 1} others"));
        else Say("NOT formed within " + Duration.Format(s.FormTimeout) + (cancellationToken.IsCancellationRequested ? " (interrupted)" : ""));
        _faultsStart = DateTimeOffset.UtcNow;
        if (formed)
        {
            try
            {
                foreach (var fault in s.Faults)
                {
                    await DelayUntil(_faultsStart + fault.At, cancellationToken).ConfigureAwait(false);
                    await ApplyAsync(fault, cancellationToken).ConfigureAwait(false);
                }
                await DelayUntil(_faultsStart + s.Duration, cancellationToken).ConfigureAwait(false);
                // Recoveries still open get their full timeout.
                List<OpenRecovery> open;
                lock (_lock) open = [.. _open];
                foreach (var o in open) await WaitAsync(o, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Say("interrupted: judging the run as it is");
            }
        }
        return await FinishAsync(formed, formedAfter, cancellationToken.IsCancellationRequested).ConfigureAwait(false);
    }

    private async Task ApplyAsync(Fault fault, CancellationToken cancellationToken)
    {
        var links = _links!;
        switch (fault.Action)
        {
            case FaultAction.Cut:
            {
                var (a, b) = fault.Nodes.Count == 2 ? (fault.Nodes[0], fault.Nodes[1]) : PickConnectedPair();
                links.Cut(a, b);
                Log(fault, $"cut the link node-{a} – node-{b}");
                break;
            }
            case FaultAction.Partition:
            {
                var side = fault.Nodes.Count > 0 ? fault.Nodes.ToHashSet() : Enumerable.Range(0, Scenario.Nodes).OrderBy(_ => _random.Next()).Take(Scenario.Nodes / 2).ToHashSet();
                links.Partition(Enumerable.Range(0, Scenario.Nodes).Select(i => side.Contains(i) ? 1 : 0).ToArray());
                Log(fault, $"partition {{{string.Join(",", side.Order())}}} | {{{string.Join(",", Enumerable.Range(0, Scenario.Nodes).Where(i => !side.Contains(i)))}}}");
                break;
            }
            case FaultAction.Heal:
                links.Heal();
                Log(fault, "heal");
                Open($"heal at {Duration.Format(fault.At)}", DateTimeOffset.UtcNow, Scenario.ReconnectTimeout);
                break;
            case FaultAction.Restart:
                foreach (var i in Targets(fault))
                {
                    if (!_nodes[i].IsRunning)
                    {
                        Log(fault, $"restart node-{i}: skipped, it is down");
                        continue;
                    }
                    Log(fault, $"restart node-{i} (SIGTERM, then start)");
                    Forget(i);
                    await _nodes[i].TerminateAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
                    if (_stopping || !Launch(_nodes[i])) return;
                    Open($"restart of node-{i} at {Duration.Format(fault.At)}", DateTimeOffset.UtcNow, Scenario.ReconnectTimeout);
                }
                break;
            case FaultAction.Kill:
                foreach (var i in Targets(fault))
                {
                    Log(fault, $"kill -9 node-{i}, back after {Duration.Format(fault.Down)}");
                    Forget(i);
                    await _nodes[i].KillAsync().ConfigureAwait(false);
                    _background.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await Task.Delay(fault.Down, cancellationToken).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                        lock (_lock)
                            if (_stopping) return;
                        if (!Launch(_nodes[i])) return;
                        Open($"return of node-{i} after kill -9 at {Duration.Format(fault.At)}", DateTimeOffset.UtcNow, Scenario.ReconnectTimeout);
                    }, CancellationToken.None));
                }
                break;
        }
    }

    private IReadOnlyList<int> Targets(Fault fault) =>
        fault.Nodes.Count > 0 ? fault.Nodes : [_random.Next(Scenario.Nodes)];

    /// <summary>A link that carries a connection now (so cutting it does something), else any pair.</summary>
    private (int, int) PickConnectedPair()
    {
        var pairs = new List<(int, int)>();
        foreach (var n in _nodes)
            if (n.Current?.Latest is { } st)
                foreach (var p in st.Peers)
                    if (_byId.TryGetValue(p.Id, out var j) && j > n.Index) pairs.Add((n.Index, j));
        if (pairs.Count > 0) return pairs[_random.Next(pairs.Count)];
        var a = _random.Next(Scenario.Nodes);
        return (a, (a + 1 + _random.Next(Scenario.Nodes - 1)) % Scenario.Nodes);
    }

    private void Log(Fault fault, string what)
    {
        lock (_lock) _faultLog.Add($"{Duration.Format(fault.At)} {what}");
        Say(what);
    }

    private async Task<ChaosReport> FinishAsync(bool formed, double? formedAfter, bool interrupted)
    {
        lock (_lock) _stopping = true;
        await Task.WhenAll(_background).ConfigureAwait(false);
        // Quiet: no new messages; what is in flight gets the drain time to arrive, then everyone reports and stops.
        foreach (var n in _nodes) n.Tell("quiet");
        if (!interrupted) await Task.Delay(Scenario.Drain).ConfigureAwait(false);
        await Task.WhenAll(_nodes.Select(n => n.StopAsync(TimeSpan.FromSeconds(30)))).ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var o in _open) _recoveries.Add(o.Fail(_faultsStart, this));
            _open.Clear();
        }
        return Judge(formed, formedAfter, interrupted);
    }

    private ChaosReport Judge(bool formed, double? formedAfter, bool interrupted)
    {
        long published = 0, delivered = 0, corrupted = 0, duplicates = 0, reordered = 0, gaps = 0, late = 0, lost = 0, dropped = 0, malformed = 0;
        // The stream each node ended on, if it ran to the end and said goodbye.
        var finalStream = new Dictionary<string, (ulong Epoch, long Published)>();
        foreach (var n in _nodes)
            if (n.Last is { Latest: { Final: true } st }) finalStream[st.Id] = (st.Epoch, st.Gossip.Published);
        var reports = new List<ChaosNodeReport>();
        foreach (var n in _nodes)
        {
            long nodePublished = 0, nodeDelivered = 0, nodeCorrupted = 0, nodeReordered = 0;
            foreach (var inc in n.Incarnations)
            {
                if (inc.Latest is not { } st) continue;
                var g = st.Gossip;
                nodePublished += g.Published;
                nodeDelivered += g.Delivered;
                nodeCorrupted += g.Corrupted;
                nodeReordered += g.LinkReordered;
                duplicates += g.Duplicates;
                gaps += g.LinkGaps;
                late += g.Late;
                dropped += g.Dropped;
                malformed += g.Malformed;
                foreach (var stream in st.Streams)
                {
                    lost += stream.Missing;
                    if (st.Final && finalStream.TryGetValue(stream.Origin, out var f) && f.Epoch == stream.Epoch)
                        lost += Math.Max(0, f.Published - 1 - (long)stream.Highest);
                }
                if (st.Final)
                    foreach (var (origin, f) in finalStream)
                        if (origin != st.Id && !st.Streams.Any(x => x.Origin == origin && x.Epoch == f.Epoch)) lost += f.Published;
            }
            published += nodePublished;
            delivered += nodeDelivered;
            corrupted += nodeCorrupted;
            reordered += nodeReordered;
            var last = n.Last;
            var runningAtEnd = last is { Latest.Final: true, Killed: false };
            var peers = last?.Latest?.Peers.Select(p => _byId.TryGetValue(p.Id, out var j) ? "node-" + j : p.Id).Order(StringComparer.Ordinal).ToList() ?? [];
            reports.Add(new ChaosNodeReport(n.Name, n.Id, n.Address, n.Incarnations.Count, runningAtEnd, peers, nodePublished, nodeDelivered, nodeCorrupted, nodeReordered));
        }
        var totals = new ChaosTotals(published, delivered, corrupted, duplicates, reordered, gaps, late, lost, dropped, malformed);
        List<ChaosRecovery> recoveries;
        lock (_lock) recoveries = [.. _recoveries.Where(r => r.Label != "formation")];
        var problems = new List<string>();
        if (!formed) problems.Add("the network did not form");
        lock (_lock) problems.AddRange(_unexpected);
        if (corrupted > 0) problems.Add($"{corrupted} corrupted message(s)");
        if (reordered > 0) problems.Add($"{reordered} message(s) reordered within a channel");
        foreach (var r in recoveries.Where(r => !r.Ok)) problems.Add($"no reconnection after the {r.Label} within {Duration.Format(Scenario.ReconnectTimeout)}");
        foreach (var r in reports.Where(r => !r.RunningAtEnd)) problems.Add($"{r.Name} was not running at the end");
        foreach (var r in reports.Where(r => r.RunningAtEnd && r.Peers.Count == 0)) problems.Add($"{r.Name} ended with no peer");
        if (interrupted) problems.Add("interrupted");
        var c = CultureInfo.InvariantCulture;
        var reconnects = recoveries.Where(r => r.Ok).Select(r => r.ReconnectSeconds!.Value).ToList();
        var summary = string.Create(c, $"{Scenario.Nodes} nodes, {Duration.Format(Scenario.Duration)}, {recoveries.Count} reconnection(s) measured")
            + (reconnects.Count > 0 ? string.Create(c, $" (max {reconnects.Max():0.0} s, mean {reconnects.Average():0.0} s)") : "")
            + string.Create(c, $"; {published} published, {delivered} delivered, {corrupted} corrupted, {duplicates} duplicates dropped, {reordered} reordered within channel, {late} late, {lost} lost, {gaps} channel gaps");
        var status = problems.Count == 0 ? "PASSED: " + summary : "FAILED: " + string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : "") + " | " + summary;
        return new ChaosReport(problems.Count == 0, status, Scenario.Nodes, Scenario.Link.ToString(), Scenario.Duration.TotalSeconds,
            formedAfter is { } fa ? Math.Round(fa, 2) : null, totals, _links!.Counters, [.. _faultLog], recoveries, reports, null);
    }

    // ---- reconnection tracking ----

    private OpenRecovery Open(string label, DateTimeOffset since, TimeSpan timeout)
    {
        var pairs = new HashSet<(int R, int O)>();
        foreach (var r in _nodes)
            foreach (var o in _nodes)
                if (r != o && r.IsRunning && o.IsRunning) pairs.Add((r.Index, o.Index));
        var open = new OpenRecovery(label, since, since + timeout, pairs);
        lock (_lock) _open.Add(open);
        // What the nodes have already said may close pairs (a cut that never split the network).
        foreach (var n in _nodes)
            if (n.Current is { Latest: { } st } inc) OnStatus(n, inc, st);
        return open;
    }

    private void OnExited(ChaosProcess node, ChaosIncarnation incarnation)
    {
        if (incarnation.Expected) return;
        var code = incarnation.Process.ExitCode;
        string last;
        try
        {
            last = File.ReadLines(Path.Combine(node.Home, "node.log")).LastOrDefault(l => l.Length > 0) ?? "";
        }
        catch (IOException)
        {
            last = "";
        }
        lock (_lock) _unexpected.Add($"{node.Name} exited on its own (code {code}): {last}");
        Say($"{node.Name} exited on its own (code {code}): {last}");
        Forget(node.Index);
        lock (_lock)
            foreach (var o in _open.Where(o => o.Label == "formation").ToList())
            {
                _open.Remove(o);
                _recoveries.Add(o.Fail(_faultsStart, this));
            }
    }

    /// <summary>A node that goes down is no longer waited for, nor waited on, by the open recoveries.</summary>
    private void Forget(int node)
    {
        lock (_lock)
            foreach (var o in _open) o.Pending.RemoveWhere(p => p.R == node || p.O == node);
        CheckDone();
    }

    private void OnStatus(ChaosProcess node, ChaosIncarnation incarnation, ChaosNodeStatus status)
    {
        if (status.Final) return;
        lock (_lock)
        {
            foreach (var o in _open)
            {
                var since = o.Since.ToUnixTimeMilliseconds();
                foreach (var stream in status.Streams)
                {
                    if (stream.NewestSentAtMs < since || !_byId.TryGetValue(stream.Origin, out var origin)) continue;
                    if (o.Pending.Remove((node.Index, origin)))
                        o.LastMs = Math.Max(o.LastMs, Math.Min(stream.NewestDeliveredAtMs, status.TimeMs));
                }
            }
        }
        CheckDone();
    }

    private void CheckDone()
    {
        lock (_lock)
        {
            for (var i = _open.Count - 1; i >= 0; i--)
            {
                var o = _open[i];
                if (o.Pending.Count > 0) continue;
                _open.RemoveAt(i);
                var result = o.Succeed(_faultsStart);
                _recoveries.Add(result);
                if (o.Label != "formation") Say(FormattableString.Invariant($"{o.Label}: every node hears every other again after {result.ReconnectSeconds:0.0} s"));
            }
        }
    }

    private async Task<bool> WaitAsync(OpenRecovery o, CancellationToken cancellationToken)
    {
        try
        {
            await o.Completed.Task.WaitAsync(o.Deadline - DateTimeOffset.UtcNow is { } left && left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken)
                .ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                if (_open.Remove(o))
                {
                    var failed = o.Fail(_faultsStart, this);
                    _recoveries.Add(failed);
                    Say($"{o.Label}: NOT reconnected within the timeout; missing {string.Join(", ", failed.Pending)}");
                }
            }
            return o.Completed.Task.IsCompletedSuccessfully;
        }
        catch (OperationCanceledException)
        {
            return o.Completed.Task.IsCompletedSuccessfully;
        }
    }

    private sealed class OpenRecovery(string label, DateTimeOffset since, DateTimeOffset deadline, HashSet<(int R, int O)> pending)
    {
        public string Label { get; } = label;

        public DateTimeOffset Since { get; } = since;

        public DateTimeOffset Deadline { get; } = deadline;

        public HashSet<(int R, int O)> Pending { get; } = pending;

        public long LastMs { get; set; }

        public TaskCompletionSource Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ChaosRecovery? Result { get; private set; }

        public ChaosRecovery Succeed(DateTimeOffset faultsStart)
        {
            var seconds = Math.Max(0, LastMs - Since.ToUnixTimeMilliseconds()) / 1000.0;
            Result = new ChaosRecovery(Label, At(faultsStart), Math.Round(seconds, 2), []) { SinceMs = Since.ToUnixTimeMilliseconds() };
            Completed.TrySetResult();
            return Result;
        }

        public ChaosRecovery Fail(DateTimeOffset faultsStart, NetnsTestnet net)
        {
            Result = new ChaosRecovery(Label, At(faultsStart), null,
                Pending.Take(10).Select(p => $"{net._nodes[p.R].Name}<-{net._nodes[p.O].Name}").ToList()) { SinceMs = Since.ToUnixTimeMilliseconds() };
            Completed.TrySetCanceled();
            return Result;
        }

        private double At(DateTimeOffset faultsStart) =>
            Math.Round((Since - (faultsStart == default ? Since : faultsStart)).TotalSeconds, 2);
    }

    private static async Task DelayUntil(DateTimeOffset when, CancellationToken cancellationToken)
    {
        var wait = when - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
    }

    private void Say(string line)
    {
        var elapsed = (DateTimeOffset.UtcNow - _created).TotalSeconds;
        lock (_progress)
        {
            _progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{elapsed,7:0.0}s  {line}"));
            _progress.Flush();
        }
    }

    // ---- teardown ----

    private void OnProcessExit(object? sender, EventArgs e) => TearDown();

    /// <summary>Kills what still runs, stops the links, closes the devices and deletes the namespaces. Safe to call twice.</summary>
    private void TearDown()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var n in _nodes)
            if (n.Current is { } c)
            {
                try
                {
                    c.Expected = true;
                    c.Process.Kill();
                    c.Process.WaitForExit(10_000);
                }
                catch (InvalidOperationException)
                {
                }
            }
        _links?.Dispose();
        foreach (var d in _devices) d.Dispose();
        foreach (var ns in _namespaces) Netns.Delete(ns);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock) _stopping = true;
        try
        {
            await Task.WhenAll(_background).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await Task.Run(TearDown).ConfigureAwait(false);
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
    }
}
