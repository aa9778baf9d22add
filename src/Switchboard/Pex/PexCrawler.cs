using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Pex;

/// <summary>Settings of a <see cref="PexCrawler"/>.</summary>
internal sealed record CrawlerOptions
{
    /// <summary>Most nodes dialed (seeds included). Default 1000.</summary>
    public int MaxNodes { get; init; } = 1000;

    /// <summary>Limit for the whole crawl; when it passes the crawl ends with what it has. Default 2 min.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a connected node has to answer the PexRequest. Default 10 s.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Nodes visited in parallel. Default 16.</summary>
    public int Concurrency { get; init; } = 16;

    /// <summary>
    /// Dial addresses that are not routable (private ranges, loopback). Null (default): only when a seed itself is
    /// not routable, i.e. when crawling a local test network; a public crawl never dials private addresses that
    /// strangers report.
    /// </summary>
    public bool? IncludeNonRoutable { get; init; }

    /// <summary>Clock for the timeouts.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (MaxNodes < 1) throw new ArgumentException("MaxNodes must be at least 1");
        if (Timeout <= TimeSpan.Zero || AnswerTimeout <= TimeSpan.Zero) throw new ArgumentException("timeouts must be positive");
        if (Concurrency < 1) throw new ArgumentException("Concurrency must be at least 1");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}

/// <summary>What the crawler learned about one node it dialed.</summary>
/// <param name="Id">The node ID.</param>
/// <param name="Address">The address dialed (host names of seeds resolved), or null if a seed's name did not resolve.</param>
/// <param name="Reachable">True if the connection and handshake succeeded.</param>
/// <param name="Moniker">The node's moniker (reachable nodes).</param>
/// <param name="Version">Its software version.</param>
/// <param name="Network">Its chain ID.</param>
/// <param name="ListenAddr">Its advertised listen address.</param>
/// <param name="Channels">The channels it advertises.</param>
/// <param name="AddressesReturned">Addresses in its PEX answer (0 if none came).</param>
/// <param name="Error">Why it is unreachable, or why it did not answer; null for a full success.</param>
/// <param name="Elapsed">Time from dialing to the end of the visit.</param>
internal sealed record CrawledNode(NodeId Id, NetAddress? Address, bool Reachable, string? Moniker, string? Version,
    string? Network, string? ListenAddr, IReadOnlyList<byte> Channels, int AddressesReturned, string? Error, TimeSpan Elapsed);

/// <summary>Progress of a crawl.</summary>
internal abstract record CrawlEvent;

/// <summary>An address not seen before was learned from <paramref name="From"/> (queued for a visit when <paramref name="Queued"/>).</summary>
/// <param name="Address">The new address.</param>
/// <param name="From">The node that reported it.</param>
/// <param name="Queued">False when the node limit is reached or the address is not dialable (non-routable).</param>
internal sealed record NodeDiscovered(NetAddress Address, NodeId From, bool Queued) : CrawlEvent;

/// <summary>A node was visited.</summary>
/// <param name="Node">The result.</param>
internal sealed record NodeVisited(CrawledNode Node) : CrawlEvent;

/// <summary>The outcome of a crawl.</summary>
/// <param name="Nodes">Every node dialed, in visit order.</param>
/// <param name="Discovered">Distinct node IDs learned (seeds included).</param>
/// <param name="TimedOut">The crawl stopped at <see cref="CrawlerOptions.Timeout"/>.</param>
/// <param name="LimitReached">Addresses were left unvisited because of <see cref="CrawlerOptions.MaxNodes"/>.</param>
internal sealed record CrawlResult(IReadOnlyList<CrawledNode> Nodes, int Discovered, bool TimedOut, bool LimitReached);

/// <summary>
/// Walks a network by PEX without joining it: dials the seeds, asks each node for addresses, records its NodeInfo,
/// hangs up, and dials what it learned, breadth first, bounded by a node count and a timeout. Register it on a
/// switch that does not listen (or use <see cref="RunAsync"/>), start the switch, then call <see cref="CrawlAsync"/>.
/// The switch's network (chain ID) must match the crawled nodes'. It never answers PEX requests.
/// </summary>
internal sealed class PexCrawler : Reactor
{
    // 100,000: bound on distinct IDs remembered, whatever the nodes report.
    private const int MaxKnown = 100_000;
    // After a node disconnects, its answer may still be in our inbound queue: wait this long for it.
    private static readonly TimeSpan DisconnectGrace = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<NodeId, Waiter> _waiters = new();
    private readonly ILogger _logger;
    private int _running;

    /// <summary>Creates a crawler.</summary>
    public PexCrawler(CrawlerOptions? options = null, ILogger? logger = null) : base("pex-crawler")
    {
        Options = options ?? new CrawlerOptions();
        Options.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The settings.</summary>
    public CrawlerOptions Options { get; }

    /// <summary>The result of the last completed crawl.</summary>
    public CrawlResult? Result { get; private set; }

    /// <inheritdoc/>
    public override IReadOnlyList<ChannelDescriptor> GetChannels() =>
        [new ChannelDescriptor(PexReactor.ChannelId, 1) { SendQueueCapacity = 10, RecvMessageCapacity = PexReactor.MaxMessageSize }];

    /// <inheritdoc/>
    public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        var addrs = PexMessages.Decode(envelope.Message);
        if (addrs is not null && _waiters.TryGetValue(envelope.Source.Id, out var waiter))
        {
            // Passive observer: invalid entries are skipped, nobody is punished.
            var list = new List<NetAddress>(Math.Min(addrs.Count, AddrBook.MaxGetSelection));
            foreach (var p in addrs.Take(AddrBook.MaxGetSelection))
                if (NetAddress.TryFromProto(p, out var a, out _) && a.IsValid) list.Add(a);
            waiter.Answer.TrySetResult(list);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override ValueTask RemovePeerAsync(IPeer peer, DisconnectReason reason, CancellationToken cancellationToken)
    {
        if (_waiters.TryGetValue(peer.Id, out var waiter)) waiter.Disconnected.TrySetResult();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Builds a switch over <paramref name="transport"/> (not listening), crawls from <paramref name="seeds"/>,
    /// reports each event to <paramref name="progress"/> and stops the switch. For a local test network on one
    /// host set <see cref="SwitchOptions.AllowDuplicateIp"/> (the transport's too).
    /// </summary>
    public static async Task<CrawlResult> RunAsync(ITransport transport, NodeKey nodeKey, SwitchOptions switchOptions,
        IEnumerable<DialAddress> seeds, CrawlerOptions? options = null, Action<CrawlEvent>? progress = null,
        ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        var crawler = new PexCrawler(options, loggerFactory?.CreateLogger("Switchboard.Pex.Crawler"));
        var sw = new Switch(transport, nodeKey, switchOptions, loggerFactory);
        await using (sw.ConfigureAwait(false))
        {
            sw.AddReactor(crawler);
            await sw.StartAsync(listen: null, cancellationToken).ConfigureAwait(false);
            await foreach (var e in crawler.CrawlAsync(seeds, cancellationToken).ConfigureAwait(false)) progress?.Invoke(e);
            return crawler.Result!;
        }
    }

    /// <summary>
    /// Crawls from <paramref name="seeds"/>, yielding a <see cref="NodeDiscovered"/> for every new address and a
    /// <see cref="NodeVisited"/> for every node dialed; <see cref="Result"/> holds the summary afterwards. The
    /// crawl ends when nothing is left to visit, at <see cref="CrawlerOptions.MaxNodes"/> visits, or at the timeout.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async IAsyncEnumerable<CrawlEvent> CrawlAsync(IEnumerable<DialAddress> seeds,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        var sw = Switch ?? throw new InvalidOperationException("the crawler is not added to a switch");
        if (!sw.IsRunning) throw new InvalidOperationException("start the switch before crawling");
        if (Interlocked.Exchange(ref _running, 1) == 1) throw new InvalidOperationException("a crawl is already running");
        var events = Channel.CreateUnbounded<CrawlEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Task.Run(() => RunCrawlAsync(sw, seeds.ToList(), events.Writer, stop.Token), CancellationToken.None);
        try
        {
            await foreach (var e in events.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return e;
            Result = await run.ConfigureAwait(false);
        }
        finally
        {
            // The consumer stopped early (or the crawl ended): stop the workers and wait for them.
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await run.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Reported by the awaited run above when the caller cancelled.
            }
            Volatile.Write(ref _running, 0);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    private sealed record Target(NodeId Id, NetAddress? Address, DialAddress? Seed);

    private async Task<CrawlResult> RunCrawlAsync(Switch sw, List<DialAddress> seeds, ChannelWriter<CrawlEvent> events, CancellationToken stop)
    {
        using var timeout = new CancellationTokenSource(Options.Timeout, Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        var token = linked.Token;
        var gate = new object();
        var known = new HashSet<NodeId>();
        var results = new List<CrawledNode>();
        var work = Channel.CreateUnbounded<Target>();
        int scheduled = 0, active = 0;
        var limitReached = false;
        var includeNonRoutable = Options.IncludeNonRoutable
            ?? seeds.Any(s => NetAddressText.TryParseIp(s.Host, out var ip) && !new NetAddress(s.Id, ip, s.Port).IsRoutable);

        foreach (var seed in seeds)
            if (known.Add(seed.Id) && scheduled < Options.MaxNodes)
            {
                scheduled++;
                work.Writer.TryWrite(new Target(seed.Id, null, seed));
            }
        if (scheduled == 0) work.Writer.TryComplete();

        async Task WorkerAsync()
        {
            try
            {
                await foreach (var target in work.Reader.ReadAllAsync(token).ConfigureAwait(false))
                {
                    lock (gate) active++;
                    try
                    {
                        var (node, learned) = await VisitAsync(sw, target, token).ConfigureAwait(false);
                        PexLog.CrawlVisited(_logger, node.Address?.ToString() ?? target.Id.ToString(), node.Error ?? "ok");
                        lock (gate)
                        {
                            results.Add(node);
                            events.TryWrite(new NodeVisited(node));
                            foreach (var a in learned)
                            {
                                if (known.Count >= MaxKnown || !known.Add(a.Id)) continue;
                                var dialable = includeNonRoutable || a.IsRoutable;
                                var queued = dialable && scheduled < Options.MaxNodes;
                                if (dialable && !queued) limitReached = true;
                                if (queued)
                                {
                                    scheduled++;
                                    work.Writer.TryWrite(new Target(a.Id, a, null));
                                }
                                events.TryWrite(new NodeDiscovered(a, node.Id, queued));
                            }
                        }
                    }
                    finally
                    {
                        lock (gate)
                            if (--active == 0 && work.Reader.Count == 0) work.Writer.TryComplete();
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Timeout or caller cancellation: end with what we have.
            }
        }

        try
        {
            var workers = Enumerable.Range(0, Options.Concurrency).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)).ToArray();
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            events.TryComplete();
        }
        stop.ThrowIfCancellationRequested();
        lock (gate) return new CrawlResult(results.ToList(), known.Count, timeout.IsCancellationRequested, limitReached);
    }

    private async Task<(CrawledNode Node, IReadOnlyList<NetAddress> Learned)> VisitAsync(Switch sw, Target target, CancellationToken token)
    {
        var time = Options.TimeProvider;
        var started = time.GetTimestamp();
        CrawledNode Unreachable(NetAddress? address, string error) =>
            new(target.Id, address, false, null, null, null, null, [], 0, error, time.GetElapsedTime(started));

        var address = target.Address;
        if (address is null)
        {
            try
            {
                address = await target.Seed!.ResolveAsync(token).ConfigureAwait(false);
            }
            catch (P2PException ex)
            {
                return (Unreachable(null, ex.Message), []);
            }
        }
        IPeer peer;
        try
        {
            peer = await sw.DialPeerAsync(address, token).ConfigureAwait(false);
        }
        catch (PeerRejectedException ex) when (ex.Reason == RejectReason.Duplicate && sw.GetPeer(target.Id) is { } existing)
        {
            peer = existing;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
        {
            return (Unreachable(address, ex.Message), []);
        }

        var waiter = new Waiter();
        _waiters[peer.Id] = waiter;
        IReadOnlyList<NetAddress> learned = [];
        string? error = null;
        try
        {
            if (!peer.TrySend(PexReactor.ChannelId, PexMessages.EncodeRequest()))
                error = peer.HasChannel(PexReactor.ChannelId) ? "could not send the PEX request" : "the node does not run PEX (no channel 0x00)";
            else
            {
                var answerTimeout = Task.Delay(Options.AnswerTimeout, time, token);
                var afterDisconnect = waiter.Disconnected.Task.ContinueWith(_ => Task.Delay(DisconnectGrace, time, token),
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
                await Task.WhenAny(waiter.Answer.Task, answerTimeout, afterDisconnect).ConfigureAwait(false);
                if (waiter.Answer.Task.IsCompletedSuccessfully) learned = waiter.Answer.Task.Result;
                else if (token.IsCancellationRequested) error = "crawl ended before the node answered";
                else if (waiter.Disconnected.Task.IsCompleted) error = "disconnected without answering";
                else error = $"no PEX answer within {Options.AnswerTimeout.TotalSeconds:0.#} s";
            }
        }
        finally
        {
            _waiters.TryRemove(peer.Id, out _);
            await sw.StopPeerGracefullyAsync(peer, "crawled").ConfigureAwait(false);
        }
        var info = peer.NodeInfo;
        var node = new CrawledNode(peer.Id, address, true, info.Moniker, info.Version, info.Network, info.ListenAddr,
            info.Channels.ToArray(), learned.Count, error, time.GetElapsedTime(started));
        return (node, learned);
    }

    private sealed class Waiter
    {
        public TaskCompletionSource<IReadOnlyList<NetAddress>> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Disconnected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
