using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>
/// How every link of the testnet behaves, with netem's meaning for each knob (tc-netem(8)): <see cref="Delay"/> ±
/// <see cref="Jitter"/> (uniform), <see cref="Loss"/> (independent per packet), <see cref="Reorder"/> (that share of
/// packets skips the delay and so overtakes the ones before it; jitter reorders too, as in netem) and
/// <see cref="RateBitsPerSecond"/> (serialisation on the link, before the delay, with a queue of
/// <see cref="QueueLimit"/> packets whose tail is dropped).
/// </summary>
internal sealed record LinkShape
{
    public TimeSpan Delay { get; init; }

    public TimeSpan Jitter { get; init; }

    /// <summary>0 to 1.</summary>
    public double Loss { get; init; }

    /// <summary>0 to 1.</summary>
    public double Reorder { get; init; }

    /// <summary>0: unlimited.</summary>
    public long RateBitsPerSecond { get; init; }

    /// <summary>1000: netem's default limit.</summary>
    public int QueueLimit { get; init; } = 1000;

    public void Validate()
    {
        if (Delay < TimeSpan.Zero || Jitter < TimeSpan.Zero) throw new ArgumentException("delay and jitter cannot be negative");
        if (Loss is < 0 or > 1 || double.IsNaN(Loss)) throw new ArgumentException("loss must be 0 to 100 %");
        if (Reorder is < 0 or > 1 || double.IsNaN(Reorder)) throw new ArgumentException("reorder must be 0 to 100 %");
        if (RateBitsPerSecond < 0) throw new ArgumentException("rate cannot be negative");
        if (QueueLimit < 1) throw new ArgumentException("the queue limit must be at least 1");
    }

    public override string ToString()
    {
        var parts = new List<string> { $"delay {Config.Duration.Format(Delay)}" };
        if (Jitter > TimeSpan.Zero) parts[0] += $" ± {Config.Duration.Format(Jitter)}";
        if (Loss > 0) parts.Add(FormattableString.Invariant($"loss {Loss * 100:0.##} %"));
        if (Reorder > 0) parts.Add(FormattableString.Invariant($"reorder {Reorder * 100:0.##} %"));
        if (RateBitsPerSecond > 0) parts.Add(FormattableString.Invariant($"rate {RateBitsPerSecond / 1000} kbit/s"));
        return string.Join(", ", parts);
    }
}

/// <summary>What the links did with the packets, summed over all links.</summary>
internal sealed record LinkCounters(long Forwarded, long Lost, long Cut, long QueueDrops, long Reordered, long Foreign);

/// <summary>
/// The testnet's bridge, in user space: each node's namespace has one TUN device with an address in one /24, and
/// this switch reads every packet a namespace sends, finds the destination node by its address, applies the link's
/// shape (<see cref="LinkShape"/>, per ordered pair of nodes) and the faults in force (a cut link, a partition), and
/// writes the packet to the destination's device when it is due. Packets for an address that is not a node's are
/// dropped: nothing leaves the testnet. Netem's qdisc would do the shaping in the kernel on a Linux bridge; this
/// does the same in user space, so it needs only TUN devices, and faults are per pair of nodes, not per port.
/// </summary>
internal sealed class LinkEmulator : IDisposable
{
    private readonly TunDevice[] _devices;
    private readonly Dictionary<uint, int> _byAddress = [];
    private readonly LinkState[,] _links;
    private readonly PriorityQueue<Pending, (long Due, long Order)> _queue = new();
    private readonly object _lock = new(); // a monitor: the writer waits on it
    private readonly Thread[] _readers;
    private readonly Thread _writer;
    private readonly Random _random;
    private readonly HashSet<(int, int)> _cuts = [];
    private int[]? _partition;
    private volatile bool _stopping;
    private long _order, _forwarded, _lost, _cut, _queueDrops, _reordered, _foreign;

    /// <param name="devices">One TUN device per node.</param>
    /// <param name="addresses">The node's IPv4 address on its device, same index.</param>
    /// <param name="shape">Every link's shape.</param>
    /// <param name="seed">Seed of the loss/jitter/reorder draws (a scenario can be replayed).</param>
    public LinkEmulator(IReadOnlyList<TunDevice> devices, IReadOnlyList<IPAddress> addresses, LinkShape shape, int seed)
    {
        shape.Validate();
        _devices = [.. devices];
        Shape = shape;
        _random = new Random(seed);
        for (var i = 0; i < addresses.Count; i++) _byAddress[BinaryPrimitives.ReadUInt32BigEndian(addresses[i].GetAddressBytes())] = i;
        _links = new LinkState[_devices.Length, _devices.Length];
        for (var a = 0; a < _devices.Length; a++)
            for (var b = 0; b < _devices.Length; b++) _links[a, b] = new LinkState();
        _readers = new Thread[_devices.Length];
        for (var i = 0; i < _devices.Length; i++)
        {
            var from = i;
            _readers[i] = new Thread(() => ReadLoop(from)) { IsBackground = true, Name = "link reader " + i };
        }
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "link writer" };
    }

    public LinkShape Shape { get; }

    public void Start()
    {
        foreach (var r in _readers) r.Start();
        _writer.Start();
    }

    public LinkCounters Counters => new(Interlocked.Read(ref _forwarded), Interlocked.Read(ref _lost), Interlocked.Read(ref _cut),
        Interlocked.Read(ref _queueDrops), Interlocked.Read(ref _reordered), Interlocked.Read(ref _foreign));

    /// <summary>Cuts the link between nodes <paramref name="a"/> and <paramref name="b"/> (both directions) until <see cref="Heal"/>.</summary>
    public void Cut(int a, int b)
    {
        lock (_lock) _cuts.Add((Math.Min(a, b), Math.Max(a, b)));
    }

    /// <summary>Splits the nodes: packets pass only between nodes of the same group (group[i] is node i's).</summary>
    public void Partition(int[] group)
    {
        if (group.Length != _devices.Length) throw new ArgumentException("one group per node");
        lock (_lock) _partition = [.. group];
    }

    /// <summary>Removes every cut and the partition; packets already dropped stay dropped.</summary>
    public void Heal()
    {
        lock (_lock)
        {
            _cuts.Clear();
            _partition = null;
        }
    }

    /// <summary>True when a packet from <paramref name="a"/> to <paramref name="b"/> would pass the faults now.</summary>
    public bool Passes(int a, int b)
    {
        lock (_lock) return PassesLocked(a, b);
    }

    private bool PassesLocked(int a, int b) =>
        !_cuts.Contains((Math.Min(a, b), Math.Max(a, b))) && (_partition is null || _partition[a] == _partition[b]);

    private void ReadLoop(int from)
    {
        var buffer = new byte[65536];
        var device = _devices[from];
        while (!_stopping)
        {
            var n = device.Read(buffer, 100);
            if (n < 0) return;
            if (n == 0) continue;
            Route(from, buffer.AsSpan(0, n));
        }
    }

    private void Route(int from, ReadOnlySpan<byte> packet)
    {
        // IPv4 only (the namespaces have no other address); the destination is bytes 16–19 of the header.
        if (packet.Length < 20 || packet[0] >> 4 != 4 || !_byAddress.TryGetValue(BinaryPrimitives.ReadUInt32BigEndian(packet[16..]), out var to) || to == from)
        {
            Interlocked.Increment(ref _foreign);
            return;
        }
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (!PassesLocked(from, to))
            {
                _cut++;
                return;
            }
            if (Shape.Loss > 0 && _random.NextDouble() < Shape.Loss)
            {
                _lost++;
                return;
            }
            var link = _links[from, to];
            if (link.Queued >= Shape.QueueLimit)
            {
                _queueDrops++;
                return;
            }
            // Rate: the packet leaves the link's queue when the ones before it have been serialised.
            var departs = now;
            if (Shape.RateBitsPerSecond > 0)
            {
                departs = Math.Max(now, link.FreeAt) + packet.Length * 8L * Stopwatch.Frequency / Shape.RateBitsPerSecond;
                link.FreeAt = departs;
            }
            long due;
            if (Shape.Reorder > 0 && _random.NextDouble() < Shape.Reorder)
            {
                due = departs;
                if (link.LastDue > due) _reordered++;
            }
            else
            {
                var delay = Shape.Delay.TotalSeconds;
                if (Shape.Jitter > TimeSpan.Zero) delay += (_random.NextDouble() * 2 - 1) * Shape.Jitter.TotalSeconds;
                due = departs + (long)(Math.Max(0, delay) * Stopwatch.Frequency);
                if (link.LastDue > due) _reordered++;
            }
            link.LastDue = Math.Max(link.LastDue, due);
            link.Queued++;
            var wake = _queue.Count == 0 || due < _queue.Peek().Due;
            _queue.Enqueue(new Pending(from, to, packet.ToArray(), due), (due, _order++));
            if (wake) Monitor.PulseAll(_lock);
        }
    }

    private void WriteLoop()
    {
        while (true)
        {
            Pending next;
            lock (_lock)
            {
                while (true)
                {
                    if (_stopping) return;
                    if (_queue.TryPeek(out var head, out _))
                    {
                        var wait = head.Due - Stopwatch.GetTimestamp();
                        if (wait <= 0) break;
                        Monitor.Wait(_lock, TimeSpan.FromSeconds(Math.Max(wait, 1) / (double)Stopwatch.Frequency));
                    }
                    else
                    {
                        Monitor.Wait(_lock, TimeSpan.FromMilliseconds(200));
                    }
                }
                next = _queue.Dequeue();
                _links[next.From, next.To].Queued--;
                // A fault that began while the packet was on the wire catches it too.
                if (!PassesLocked(next.From, next.To))
                {
                    _cut++;
                    continue;
                }
            }
            if (_devices[next.To].Write(next.Packet)) Interlocked.Increment(ref _forwarded);
            else Interlocked.Increment(ref _queueDrops);
        }
    }

    /// <summary>Stops the threads (waits for them); the devices are the caller's.</summary>
    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        lock (_lock) Monitor.PulseAll(_lock);
        foreach (var r in _readers)
            if (r.IsAlive) r.Join();
        if (_writer.IsAlive) _writer.Join();
    }

    private sealed class LinkState
    {
        public long FreeAt;
        public long LastDue;
        public int Queued;
    }

    private readonly record struct Pending(int From, int To, byte[] Packet, long Due);
}
