using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Pex;

/// <summary>How loading <c>addrbook.json</c> went.</summary>
public enum AddrBookLoadStatus
{
    /// <summary>No file path configured, or no file yet: the book starts empty.</summary>
    NoFile,
    /// <summary>The file was read (some entries may have been skipped).</summary>
    Loaded,
    /// <summary>The file was unreadable; it was moved aside and the book starts empty.</summary>
    Corrupt,
}

/// <summary>The result of loading the address book file.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Loaded">Entries placed in buckets.</param>
/// <param name="Skipped">Entries dropped (invalid, duplicate, over a cap, bucket full, over the entry limit).</param>
/// <param name="Bans">Bans restored.</param>
/// <param name="MovedTo">Where a corrupt file was moved, if it could be.</param>
/// <param name="Error">Why the file was corrupt.</param>
public sealed record AddrBookLoadReport(AddrBookLoadStatus Status, int Loaded, int Skipped, int Bans,
    string? MovedTo = null, AddrBookFormatException? Error = null);

/// <summary>An <c>addrbook.json</c> that cannot be read: not JSON, the wrong shape, or over the size limit.</summary>
public sealed class AddrBookFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public AddrBookFormatException(string message, Exception? innerException = null) : base(message, innerException) { }
}

// addrbook.json (PROTOCOL.md 7.4): Go's encoding/json with tab indentation. Go matches field names
// case-insensitively and ignores unknown ones, which is what lets bans ride along in "switchboard_bans".
public sealed partial class AddrBook
{
    private const string BansField = "switchboard_bans";
    private readonly object _saveLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private AddrBookLoadReport? _loadReport;
    private Task? _saveLoop;
    private int _stopped;

    /// <summary>The result of the load done by <see cref="Start"/> (null before).</summary>
    public AddrBookLoadReport? LoadReport => Volatile.Read(ref _loadReport);

    /// <summary>
    /// Loads <see cref="AddrBookOptions.FilePath"/> (a corrupt file is logged in one line, moved aside to
    /// <c>&lt;path&gt;.corrupt-&lt;UTC time&gt;</c> and the book starts empty; temporary files left by an interrupted
    /// save are deleted) and starts the periodic save.
    /// Idempotent: later calls return the first report.
    /// </summary>
    public AddrBookLoadReport Start()
    {
        lock (_saveLock)
        {
            if (_loadReport is not null) return _loadReport;
            var report = Load();
            Volatile.Write(ref _loadReport, report);
            if (Options.FilePath is not null) _saveLoop = Task.Run(SaveLoopAsync, CancellationToken.None);
            return report;
        }
    }

    /// <summary>Stops the periodic save and saves once more.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_saveLoop is not null) await _saveLoop.ConfigureAwait(false);
        if (_loadReport is not null) TrySave();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task SaveLoopAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(Options.SaveInterval, _time, _stopping.Token).ConfigureAwait(false);
                TrySave();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping; StopAsync saves once more.
        }
    }

    private void TrySave()
    {
        try
        {
            Save();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A full disk or a read-only folder: an operator's problem, said in one line; the next save tries again.
            PexLog.AddrBookSaveFailed(_logger, Options.FilePath ?? "", ex.Message);
        }
    }

    /// <summary>
    /// Writes the book to <see cref="AddrBookOptions.FilePath"/> in a format CometBFT loads, so that a crash at any
    /// point leaves the previous file or the new one, never a mix: the content goes to <c>&lt;path&gt;.tmp</c>, is
    /// flushed to the disk, renamed over the file, and the folder is flushed (Unix). A temporary file left by a
    /// process killed mid-save is replaced by the next save and removed at the next load. Does nothing for a
    /// memory-only book.
    /// </summary>
    /// <exception cref="IOException">the file could not be written.</exception>
    public void Save()
    {
        var path = Options.FilePath;
        if (path is null) return;
        string key;
        List<AddrBookEntry> entries;
        List<(AddrBookEntry Entry, bool WasInBook)> bans;
        lock (_gate)
        {
            key = _key;
            entries = _lookup.Values.Select(k => k.Snapshot()).ToList();
            bans = _bad.Values.Select(k => (k.Snapshot(), k.WasInBook)).ToList();
        }
        lock (_saveLock)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            DurableFile.Write(path, stream =>
            {
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions
                {
                    // Go's json.MarshalIndent(v, "", "\t").
                    Indented = true,
                    IndentCharacter = '\t',
                    IndentSize = 1,
                });
                writer.WriteStartObject();
                writer.WriteString("key", key);
                writer.WriteStartArray("addrs");
                foreach (var e in entries) WriteEntry(writer, e, null);
                writer.WriteEndArray();
                writer.WriteStartArray(BansField);
                foreach (var (e, wasInBook) in bans) WriteEntry(writer, e, wasInBook);
                writer.WriteEndArray();
                writer.WriteEndObject();
            });
        }
    }

    private static void WriteEntry(Utf8JsonWriter w, AddrBookEntry e, bool? inBook)
    {
        w.WriteStartObject();
        WriteAddress(w, "addr", e.Address);
        WriteAddress(w, "src", e.Source);
        w.WriteStartArray("buckets");
        foreach (var b in e.Buckets) w.WriteNumberValue(b);
        w.WriteEndArray();
        w.WriteNumber("attempts", e.Attempts);
        w.WriteNumber("bucket_type", (int)e.Type);
        w.WriteString("last_attempt", GoTime.Format(e.LastAttempt));
        w.WriteString("last_success", GoTime.Format(e.LastSuccess));
        w.WriteString("last_ban_time", GoTime.Format(e.BannedUntil));
        if (inBook is { } b2) w.WriteBoolean("in_book", b2);
        w.WriteEndObject();
    }

    private static void WriteAddress(Utf8JsonWriter w, string name, NetAddress a)
    {
        w.WriteStartObject(name);
        w.WriteString("id", a.Id.Value);
        w.WriteString("ip", NetAddressText.FormatIp(a.Ip));
        w.WriteNumber("port", a.Port);
        w.WriteEndObject();
    }

    private AddrBookLoadReport Load()
    {
        var path = Options.FilePath;
        if (path is null) return new AddrBookLoadReport(AddrBookLoadStatus.NoFile, 0, 0, 0);
        var swept = DurableFile.SweepTemporaryFiles(path, name => IsLegacyTemporaryName(path, name));
        if (swept > 0) PexLog.AddrBookTemporaryFilesRemoved(_logger, path, swept);
        if (!File.Exists(path)) return new AddrBookLoadReport(AddrBookLoadStatus.NoFile, 0, 0, 0);
        try
        {
            var report = LoadFile(path);
            PexLog.AddrBookLoaded(_logger, path, report.Loaded, report.Skipped, report.Bans);
            return report;
        }
        catch (AddrBookFormatException ex)
        {
            // An expected condition (a file cut short, edited by hand, not ours): one line that says what was wrong
            // and where the file went. The exception stays in the report for callers that want it.
            var (movedTo, moveError) = MoveAside(path);
            if (movedTo is not null) PexLog.AddrBookCorrupt(_logger, path, ex.Message, movedTo);
            else PexLog.AddrBookCorruptNotMoved(_logger, path, ex.Message, moveError!);
            return new AddrBookLoadReport(AddrBookLoadStatus.Corrupt, 0, 0, 0, movedTo, ex);
        }
    }

    // Before the temporary name was fixed, saves used "<file>.tmp-" + 12 random hex digits.
    private static bool IsLegacyTemporaryName(string path, string name)
    {
        var prefix = Path.GetFileName(path) + ".tmp-";
        return name.Length == prefix.Length + 12 && name.StartsWith(prefix, StringComparison.Ordinal)
            && name.AsSpan(prefix.Length).ContainsAnyExcept("0123456789abcdef") is false;
    }

    private (string? MovedTo, string? Error) MoveAside(string path)
    {
        var stamp = _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);
        var target = path + ".corrupt-" + stamp;
        for (var i = 1; File.Exists(target); i++) target = path + ".corrupt-" + stamp + "-" + i.ToString(CultureInfo.InvariantCulture);
        try
        {
            File.Move(path, target);
            return (target, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, $"to {target}: {ex.Message}");
        }
    }

    private AddrBookLoadReport LoadFile(string path)
    {
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            // Bound before reading: a hostile or runaway file must not be pulled into memory whole.
            if (stream.Length > Options.MaxFileBytes)
                throw new AddrBookFormatException($"the file is {stream.Length} bytes, above the limit of {Options.MaxFileBytes}");
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (IOException ex)
        {
            throw new AddrBookFormatException($"cannot read the file: {ex.Message}", ex);
        }
        // JsonDocument checks the UTF-8 of a string only when it is read, and then throws InvalidOperationException
        // (found by fuzz/addrbook: a property name with a stray 0xF2 escaped Start untyped, after some entries had been
        // placed). Go's encoder never writes invalid UTF-8, so such a file is corrupt as a whole, before anything loads.
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new AddrBookFormatException("not valid JSON: the text is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new AddrBookFormatException($"not valid JSON: {ex.Message}", ex);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new AddrBookFormatException("the top level is not a JSON object");
            string? key = null;
            if (Field(root, "key") is { } k)
            {
                if (k.ValueKind == JsonValueKind.String) key = k.GetString();
                else if (k.ValueKind != JsonValueKind.Null) throw new AddrBookFormatException("\"key\" is not a string");
            }
            var addrs = Array(root, "addrs");
            var bans = Array(root, BansField);
            int loaded = 0, skipped = 0, banCount = 0, seen = 0;
            lock (_gate)
            {
                // Any key string works for hashing; an absurd one (or none) is replaced by a fresh key.
                if (key is { Length: > 0 and <= 64 } && key.All(char.IsAscii)) _key = key;
                var now = _time.GetUtcNow();
                foreach (var element in addrs)
                {
                    if (++seen > Options.MaxFileEntries || !TryReadEntry(element, out var ka) || !PlaceLoadedLocked(ka))
                    {
                        skipped++;
                        continue;
                    }
                    loaded++;
                }
                foreach (var element in bans)
                {
                    if (++seen > Options.MaxFileEntries || !TryReadEntry(element, out var ka) || _lookup.ContainsKey(ka.Id)
                        || _bad.ContainsKey(ka.Id))
                    {
                        skipped++;
                        continue;
                    }
                    ka.Buckets.Clear();
                    ka.WasInBook = Field(element, "in_book") is not { ValueKind: JsonValueKind.False };
                    // A ban that expired while we were down still goes through ReinstateBadPeers, as it would have.
                    if (ka.BannedUntil == DateTimeOffset.MinValue) ka.BannedUntil = now;
                    AddBanLocked(ka);
                    banCount++;
                }
            }
            return new AddrBookLoadReport(AddrBookLoadStatus.Loaded, loaded, skipped, banCount);
        }
    }

    /// <summary>Puts a loaded entry into its recorded buckets, checking what CometBFT trusts blindly.</summary>
    private bool PlaceLoadedLocked(KnownAddress ka)
    {
        if (_lookup.ContainsKey(ka.Id) || _bad.ContainsKey(ka.Id) || _privateIds.Contains(ka.Id) || IsOursLocked(ka.Addr)) return false;
        if (Options.Strict && !ka.Addr.IsRoutable) return false;
        if (CheckCapsLocked(ka.Addr) != AddAddressResult.Added) return false;
        var listed = ka.Buckets.Distinct().ToList();
        ka.Buckets.Clear();
        if (ka.IsOld)
        {
            // An old entry lives in exactly one old bucket.
            foreach (var index in listed)
                if (index is >= 0 and < OldBucketCount && AddToOldBucketLocked(ka, index)) return true;
            return false;
        }
        foreach (var index in listed.Take(MaxNewBucketsPerAddress))
        {
            // Never evict while loading: a full bucket in the file means the file is not CometBFT's layout.
            if (index is < 0 or >= NewBucketCount || _new[index].Count > BucketSize) continue;
            AddToNewBucketLocked(ka, index, newcomer: false);
        }
        if (ka.Buckets.Count > 0) return true;
        var computed = CalcNewBucket(ka.Addr, ka.Src);
        return _new[computed].Count <= BucketSize && AddToNewBucketLocked(ka, computed, newcomer: false);
    }

    private static bool TryReadEntry(JsonElement e, out KnownAddress ka)
    {
        ka = null!;
        if (e.ValueKind != JsonValueKind.Object) return false;
        if (!TryReadAddress(Field(e, "addr"), out var addr) || !addr.IsValid) return false;
        if (!TryReadAddress(Field(e, "src"), out var src)) src = addr;
        var type = BucketType.New;
        if (Field(e, "bucket_type") is { } t)
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out var tv) || tv is not (1 or 2)) return false;
            type = (BucketType)tv;
        }
        var attempts = 0;
        if (Field(e, "attempts") is { } a && (a.ValueKind != JsonValueKind.Number || !a.TryGetInt32(out attempts) || attempts < 0))
            return false;
        if (!TryReadTime(e, "last_attempt", out var lastAttempt) || !TryReadTime(e, "last_success", out var lastSuccess)
            || !TryReadTime(e, "last_ban_time", out var banned))
            return false;
        ka = new KnownAddress(addr, src)
        {
            Type = type,
            Attempts = attempts,
            LastAttempt = lastAttempt,
            LastSuccess = lastSuccess,
            BannedUntil = banned,
        };
        if (Field(e, "buckets") is { } buckets)
        {
            if (buckets.ValueKind == JsonValueKind.Array)
            {
                // A CometBFT entry is in at most 4 buckets; more is not its layout.
                if (buckets.GetArrayLength() > MaxNewBucketsPerAddress) return false;
                foreach (var b in buckets.EnumerateArray())
                {
                    if (b.ValueKind != JsonValueKind.Number || !b.TryGetInt32(out var index)) return false;
                    ka.Buckets.Add(index);
                }
            }
            else if (buckets.ValueKind != JsonValueKind.Null) return false;
        }
        return true;
    }

    private static bool TryReadTime(JsonElement e, string name, out DateTimeOffset time)
    {
        time = DateTimeOffset.MinValue;
        if (Field(e, name) is not { } v || v.ValueKind == JsonValueKind.Null) return true;
        return v.ValueKind == JsonValueKind.String && GoTime.TryParse(v.GetString(), out time, out _);
    }

    private static bool TryReadAddress(JsonElement? element, out NetAddress address)
    {
        address = null!;
        if (element is not { ValueKind: JsonValueKind.Object } e) return false;
        if (Field(e, "id") is not { ValueKind: JsonValueKind.String } id || !NodeId.TryParse(id.GetString(), out var nodeId)) return false;
        if (Field(e, "ip") is not { ValueKind: JsonValueKind.String } ip || !NetAddressText.TryParseIp(ip.GetString(), out var parsed)) return false;
        if (Field(e, "port") is not { ValueKind: JsonValueKind.Number } port || !port.TryGetInt32(out var p) || p is < 0 or > ushort.MaxValue)
            return false;
        address = new NetAddress(nodeId, parsed, (ushort)p);
        return true;
    }

    /// <summary>Go's decoder: names match case-insensitively and the last duplicate wins.</summary>
    private static JsonElement? Field(JsonElement obj, string name)
    {
        JsonElement? found = null;
        foreach (var p in obj.EnumerateObject())
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                found = p.Value;
        return found;
    }

    private static IEnumerable<JsonElement> Array(JsonElement root, string name) => Field(root, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => [],
        { ValueKind: JsonValueKind.Array } a => a.EnumerateArray(),
        _ => throw new AddrBookFormatException($"\"{name}\" is not an array"),
    };
}
