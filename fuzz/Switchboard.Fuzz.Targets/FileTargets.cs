using Switchboard.Crypto;
using Switchboard.Pex;

namespace Switchboard.Fuzz;

/// <summary>The files a node loads at start: addrbook.json and node_key.json (anyone who can write them is hostile).</summary>
internal static class FileTargets
{
    public static readonly FuzzTarget AddrBook = new(
        "addrbook",
        "AddrBook.Start on an addrbook.json with the input as its content, then a save and a second load of what was saved",
        AddrBookBody,
        // Start documents no exception: a corrupt file is a report (moved aside), never a throw.
        _ => false,
        FuzzTargets.Linear(4 * 1024 * 1024, 1024));

    public static readonly FuzzTarget NodeKey = new(
        "nodekey",
        "NodeKey.Load on a node_key.json with the input as its content",
        NodeKeyBody,
        ex => ex is NodeKeyFormatException,
        FuzzTargets.Linear(256 * 1024, 64));

    /// <summary>A folder of this process's own (on tmpfs when there is one: the loads fsync).</summary>
    private static readonly Lazy<string> Folder = new(() =>
    {
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var folder = Path.Combine(root, $"switchboard-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
        };
        return folder;
    });

    private static void Clean(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder)) File.Delete(file);
    }

    private static void AddrBookBody(byte[] input)
    {
        var folder = Folder.Value;
        Clean(folder);
        var path = Path.Combine(folder, "addrbook.json");
        File.WriteAllBytes(path, input);
        var options = new AddrBookOptions { FilePath = path, Random = new Random(1), TimeProvider = Fixed.Time };
        var book = new Pex.AddrBook(options);
        var first = book.Start();
        book.DisposeAsync().AsTask().GetAwaiter().GetResult();
        FuzzTargets.Check(first.Status != AddrBookLoadStatus.Corrupt || first.Error is not null, "a corrupt report without its error");
        FuzzTargets.Check(first.Status != AddrBookLoadStatus.Corrupt || first.MovedTo is null || File.Exists(first.MovedTo),
            "a corrupt file said to be moved aside is not where the report says");
        // What we saved must load: a node must never corrupt its own book.
        var again = new Pex.AddrBook(options);
        var second = again.Start();
        again.DisposeAsync().AsTask().GetAwaiter().GetResult();
        FuzzTargets.Check(second.Status != AddrBookLoadStatus.Corrupt, $"the book saved after loading this input is corrupt: {second.Error?.Message}");
        FuzzTargets.Check(second.Loaded + second.Bans >= (first.Status == AddrBookLoadStatus.Loaded ? first.Loaded + first.Bans : 0),
            $"saved {first.Loaded} + {first.Bans} bans, loaded back {second.Loaded} + {second.Bans}");
        Clean(folder);
    }

    private static void NodeKeyBody(byte[] input)
    {
        var path = Path.Combine(Folder.Value, "node_key.json");
        File.WriteAllBytes(path, input);
        using var key = Crypto.NodeKey.Load(path);
        FuzzTargets.Check(key.Id == NodeId.FromPublicKey(key.PublicKey.Span), "the ID is not that of the public key");
        // The same key, generated from scratch, signs the same way.
        var signature = new byte[Ed25519Signer.SignatureSize];
        key.Sign("fuzz"u8, signature);
        FuzzTargets.Check(Ed25519Signer.Verify(key.PublicKey.Span, "fuzz"u8, signature), "a loaded key's signature does not verify");
    }
}
