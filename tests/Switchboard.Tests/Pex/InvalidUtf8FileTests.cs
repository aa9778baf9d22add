using Switchboard.Crypto;
using Switchboard.Pex;

namespace Switchboard.Tests.Pex;

/// <summary>
/// Regression tests for what fuzz/addrbook and fuzz/nodekey found: System.Text.Json checks the UTF-8 of a string only
/// when it is read and then throws InvalidOperationException, which escaped AddrBook.Start (a node would not start,
/// instead of moving the corrupt book aside) and NodeKey.Load (instead of NodeKeyFormatException). The inputs are
/// files of fuzz/crashes.
/// </summary>
public sealed class InvalidUtf8FileTests : IDisposable
{
    private static readonly byte[] Book = Convert.FromHexString("7b226b8579223a2230313233343536373839616263646566303131313131313131313131313131313131313131313131313131313131323334353637222c226164647273223a5b5d7d");
    private static readonly byte[] Key = Convert.FromHexString("7b22707269765f6b6579223a7b2274797065223a2274656e6465726d696e742f507269764b657945643235353139222c2276616c7565223a223d414543417751464267634982516f4c4441304f4478415245684d554652595847426b6147787764486838446f51652f383834517668317733526a6e5338435a5a2b54574d4a756c4456386433495a6b456c557875413d3d227d7d");

    private readonly string _folder = Directory.CreateTempSubdirectory("switchboard-utf8-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void An_address_book_that_is_not_UTF8_is_corrupt_and_moved_aside()
    {
        var path = Path.Combine(_folder, "addrbook.json");
        File.WriteAllBytes(path, Book);
        var book = new AddrBook(new AddrBookOptions { FilePath = path });
        var report = book.Start();
        Assert.Equal(AddrBookLoadStatus.Corrupt, report.Status);
        Assert.Equal(0, book.Size);
        Assert.True(report.MovedTo is not null && File.Exists(report.MovedTo));
    }

    [Fact]
    public void A_node_key_that_is_not_UTF8_is_a_format_error()
    {
        var path = Path.Combine(_folder, "node_key.json");
        File.WriteAllBytes(path, Key);
        var ex = Assert.Throws<NodeKeyFormatException>(() => NodeKey.Load(path));
        Assert.Equal(NodeKeyError.InvalidJson, ex.Error);
    }
}
