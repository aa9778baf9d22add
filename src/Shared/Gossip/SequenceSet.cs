namespace Switchboard.Gossip;

/// <summary>
/// The sequence numbers seen of one stream, as sorted disjoint ranges: exact, and as small as the number of gaps (a
/// stream received without loss is one range however long it runs). At most <see cref="MaxRanges"/> ranges are kept;
/// past that the two lowest are merged, the numbers between them counted in <see cref="Forgotten"/> (and treated as
/// seen) — a peer that sends every other number cannot make the set grow without bound.
/// </summary>
internal sealed class SequenceSet
{
    /// <summary>1024 gaps: a testnet stream has one per fault it lived through; ten-minute soaks have a few dozen.</summary>
    public const int MaxRanges = 1024;

    private readonly List<(ulong Lo, ulong Hi)> _ranges = [];

    /// <summary>Distinct numbers added.</summary>
    public long Count { get; private set; }

    /// <summary>Numbers never added but treated as seen because the set was full.</summary>
    public long Forgotten { get; private set; }

    public ulong Lowest => _ranges.Count > 0 ? _ranges[0].Lo : 0;

    public ulong Highest => _ranges.Count > 0 ? _ranges[^1].Hi : 0;

    public bool IsEmpty => _ranges.Count == 0;

    /// <summary>Numbers between the lowest and the highest that were never added (forgotten ones excluded).</summary>
    public long Missing => IsEmpty ? 0 : (long)(Highest - Lowest + 1) - Count - Forgotten;

    /// <summary>Adds <paramref name="n"/>; false if it was already in the set.</summary>
    public bool Add(ulong n)
    {
        // The first range whose Hi >= n.
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_ranges[mid].Hi < n) lo = mid + 1;
            else hi = mid;
        }
        var i = lo;
        if (i < _ranges.Count && _ranges[i].Lo <= n) return false;
        Count++;
        var joinsPrevious = i > 0 && _ranges[i - 1].Hi + 1 == n;
        var joinsNext = i < _ranges.Count && n + 1 == _ranges[i].Lo;
        if (joinsPrevious && joinsNext)
        {
            _ranges[i - 1] = (_ranges[i - 1].Lo, _ranges[i].Hi);
            _ranges.RemoveAt(i);
        }
        else if (joinsPrevious) _ranges[i - 1] = (_ranges[i - 1].Lo, n);
        else if (joinsNext) _ranges[i] = (n, _ranges[i].Hi);
        else
        {
            _ranges.Insert(i, (n, n));
            if (_ranges.Count > MaxRanges)
            {
                Forgotten += (long)(_ranges[1].Lo - _ranges[0].Hi - 1);
                _ranges[1] = (_ranges[0].Lo, _ranges[1].Hi);
                _ranges.RemoveAt(0);
            }
        }
        return true;
    }
}
