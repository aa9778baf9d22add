using System.Reflection;
using System.Text;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Crypto;

public sealed class NodeKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("switchboard-nodekey-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public void NodeIdSamplesMatch()
    {
        using var doc = Vectors.Json("node_ids.json");
        var samples = doc.RootElement.GetProperty("samples").EnumerateArray().ToList();
        Assert.NotEmpty(samples);
        foreach (var s in samples)
        {
            using var key = NodeKey.FromSeed(Vectors.Hex(s.GetProperty("ed25519_seed_hex").GetString()!));
            Assert.Equal(s.GetProperty("pubkey_hex").GetString(), Vectors.ToHex(key.PublicKey.Span));
            Assert.Equal(s.GetProperty("node_id").GetString(), key.Id.Value);
            var priv = s.GetProperty("ed25519_privkey_hex").GetString()!;
            Assert.EndsWith(Vectors.ToHex(key.PublicKey.Span), priv);
        }
    }

    [Fact]
    public void LoadsCometBftFileAndResavesIdenticalBytes()
    {
        using var info = Vectors.Json("node_key_info.json");
        using var key = NodeKey.Load(Vectors.PathOf("node_key.json"));
        Assert.Equal(info.RootElement.GetProperty("pubkey_hex").GetString(), Vectors.ToHex(key.PublicKey.Span));
        Assert.Equal(info.RootElement.GetProperty("node_id").GetString(), key.Id.Value);

        var path = PathOf("node_key.json");
        key.Save(path);
        Assert.Equal(File.ReadAllBytes(Vectors.PathOf("node_key.json")), File.ReadAllBytes(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Single(Directory.GetFiles(_dir)); // the temporary file was renamed, not left behind
    }

    [Fact]
    public void DerivedVectorNodeKeyJsonRoundTrips()
    {
        using var doc = Vectors.Json("derived.json");
        var sts = doc.RootElement.GetProperty("sts");
        var json = sts.GetProperty("nodeA_node_key_json").GetString()!;
        var path = PathOf("a.json");
        File.WriteAllText(path, json);
        using var key = NodeKey.Load(path);
        Assert.Equal(sts.GetProperty("nodeA_id").GetString(), key.Id.Value);
        using var fromSeed = NodeKey.FromSeed(Vectors.Hex(sts.GetProperty("nodeA_ed25519_seed").GetString()!));
        fromSeed.Save(PathOf("b.json"));
        Assert.Equal(json, File.ReadAllText(PathOf("b.json")));
    }

    [Fact]
    public void SaveOverwritesAtomicallyAndLoadOrGenerateKeepsTheKey()
    {
        var path = PathOf("node_key.json");
        NodeId id;
        using (var generated = NodeKey.LoadOrGenerate(path))
            id = generated.Id;
        using (var again = NodeKey.LoadOrGenerate(path))
            Assert.Equal(id, again.Id);

        using var other = NodeKey.Generate();
        Assert.NotEqual(id, other.Id);
        other.Save(path);
        using var reloaded = NodeKey.Load(path);
        Assert.Equal(other.Id, reloaded.Id);
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void SignatureVerifiesAndDisposeClearsTheSeed()
    {
        var key = NodeKey.Generate();
        var sig = new byte[64];
        key.Sign("msg"u8, sig);
        Assert.True(Ed25519Signer.Verify(key.PublicKey.Span, "msg"u8, sig));

        var seed = (byte[])typeof(NodeKey).GetField("_seed", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(key)!;
        Assert.Contains(seed, b => b != 0);
        key.Dispose();
        Assert.All(seed, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => key.Sign("msg"u8, sig));
        Assert.Throws<ObjectDisposedException>(() => key.Save(PathOf("x.json")));
    }

    [Fact]
    public void SaveReplacesAStaleTemporaryFileWithAFreshPrivateOneAndLeavesNone()
    {
        var path = PathOf("node_key.json");
        // What a kill during an earlier save could leave: this version's temporary file (given a looser mode here,
        // which the key must not inherit) and the randomly named ones of earlier versions.
        File.WriteAllText(path + ".tmp", new string('x', 1000));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.WriteAllText(PathOf(".node_key.json.0123456789ab.tmp"), "an old half-written key");
        File.WriteAllText(PathOf(".node_key.json.notours.tmp"), "not a name Save ever used");

        using var key = NodeKey.Generate();
        key.Save(path);
        Assert.Equal([".node_key.json.notours.tmp", "node_key.json"], Directory.GetFiles(_dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var loaded = NodeKey.Load(path);
        Assert.Equal(key.Id, loaded.Id);
    }

    [Fact]
    public void LoadOrGenerateRemovesWhatAnInterruptedSaveLeft()
    {
        var path = PathOf("node_key.json");
        using (var key = NodeKey.Generate()) key.Save(path);
        File.WriteAllText(path + ".tmp", "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"val");
        File.WriteAllText(PathOf(".node_key.json.abcdef012345.tmp"), "{");
        using var loaded = NodeKey.LoadOrGenerate(path);
        Assert.Equal(["node_key.json"], Directory.GetFiles(_dir).Select(f => Path.GetFileName(f)));
    }

    [Fact]
    public void FlushingAFolderWorksAndAMissingOneIsAnIOExceptionNamingIt()
    {
        DurableFile.FlushDirectory(_dir);
        if (OperatingSystem.IsWindows()) return; // nothing is flushed there
        var missing = PathOf("no-such-folder");
        var ex = Assert.Throws<IOException>(() => DurableFile.FlushDirectory(missing));
        Assert.Contains(missing, ex.Message);
    }

    [Fact]
    public void SavingIntoAMissingFolderNamesTheFolder()
    {
        using var key = NodeKey.Generate();
        var missing = PathOf(Path.Combine("no-such-folder", "node_key.json"));
        var ex = Assert.Throws<DirectoryNotFoundException>(() => key.Save(missing));
        Assert.Contains("no-such-folder", ex.Message);
        Assert.DoesNotContain(".tmp", ex.Message);
    }

    [Fact]
    public void FromSeedRequires32Bytes() =>
        Assert.Throws<ArgumentException>(() => NodeKey.FromSeed(new byte[31]));

    public static TheoryData<string, NodeKeyError> BadFiles()
    {
        var good = Convert.ToBase64String(Vectors.Hex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"));
        var mismatched = Convert.ToBase64String(Vectors.Hex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b9"));
        var zeroPub = Convert.ToBase64String(Vectors.Hex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + new string('0', 64)));
        static string File(string type, string value) => $"{{\"priv_key\":{{\"type\":\"{type}\",\"value\":\"{value}\"}}}}";
        return new TheoryData<string, NodeKeyError>
        {
            { File("tendermint/PrivKeyEd25519", mismatched), NodeKeyError.PublicKeyMismatch },
            { File("tendermint/PrivKeyEd25519", zeroPub), NodeKeyError.PublicKeyMismatch },
            { File("tendermint/PrivKeySecp256k1", good), NodeKeyError.UnsupportedKeyType },
            { File("tendermint/PrivKeyEd25519", Convert.ToBase64String(new byte[32])), NodeKeyError.InvalidKeyLength },
            { File("tendermint/PrivKeyEd25519", good + "AAAA"), NodeKeyError.InvalidKeyLength },
            { File("tendermint/PrivKeyEd25519", "not base64!"), NodeKeyError.InvalidKeyLength },
            { File("tendermint/PrivKeyEd25519", new string('A', 10_000)), NodeKeyError.InvalidKeyLength },
            { "", NodeKeyError.InvalidJson },
            { "garbage", NodeKeyError.InvalidJson },
            { "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\"", NodeKeyError.InvalidJson },
            { "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\"}}", NodeKeyError.InvalidJson },
            { "{\"priv_key\":{\"value\":\"" + good + "\"}}", NodeKeyError.InvalidJson },
            { "{\"other\":1}", NodeKeyError.InvalidJson },
            { "[]", NodeKeyError.InvalidJson },
            { "{\"priv_key\":\"x\"}", NodeKeyError.InvalidJson },
            { "{\"priv_key\":{\"type\":5,\"value\":\"" + good + "\"}}", NodeKeyError.InvalidJson },
            { File("tendermint/PrivKeyEd25519", good) + "{}", NodeKeyError.InvalidJson },
        };
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void RejectsBadFilesWithTypedErrors(string content, NodeKeyError expected)
    {
        var path = PathOf("bad.json");
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(content));
        var ex = Assert.Throws<NodeKeyFormatException>(() => NodeKey.Load(path));
        Assert.Equal(expected, ex.Error);
        // LoadOrGenerate must not replace a broken key file with a new identity.
        Assert.Throws<NodeKeyFormatException>(() => NodeKey.LoadOrGenerate(path));
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void AcceptsUnknownFieldsAndWhitespaceLikeGo()
    {
        var path = PathOf("k.json");
        var original = File.ReadAllText(Vectors.PathOf("node_key.json"));
        File.WriteAllText(path, "{ \"extra\": [1, {\"a\": 2}],\n" + original[1..^1] + " }\n");
        using var key = NodeKey.Load(path);
        Assert.Equal("56475aa75463474c0285df5dbf2bcab73da65135", key.Id.Value);
    }
}
