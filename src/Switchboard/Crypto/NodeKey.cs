using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace Switchboard.Crypto;

/// <summary>
/// A node's long-term Ed25519 identity key, stored as CometBFT's <c>node_key.json</c>
/// (PROTOCOL.md 4.1). The private seed lives in a pinned array that is cleared on <see cref="Dispose"/>.
/// </summary>
/// <remarks>Signing concurrently from several handshakes is safe; disposing while signing is not.</remarks>
public sealed class NodeKey : IDisposable
{
    /// <summary>32: an Ed25519 seed.</summary>
    public const int SeedSize = Ed25519Signer.SeedSize;

    /// <summary>32: an Ed25519 public key.</summary>
    public const int PublicKeySize = Ed25519Signer.PublicKeySize;

    /// <summary>The amino type tag CometBFT writes for an Ed25519 private key.</summary>
    public const string PrivateKeyType = "tendermint/PrivKeyEd25519";

    // 64: Go's ed25519.PrivateKey layout, seed ‖ public key, which is what the file's "value" holds.
    private const int GoPrivateKeySize = SeedSize + PublicKeySize;

    // 64 KiB: a node key file is ~150 bytes; anything far larger is not one and is not read into memory.
    private const int MaxFileSize = 64 * 1024;

    private static ReadOnlySpan<byte> JsonPrefix => "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\""u8;
    private static ReadOnlySpan<byte> JsonSuffix => "\"}}"u8;

    // Pinned so the GC never leaves a stale copy of the seed behind when it compacts the heap.
    private readonly byte[] _seed = GC.AllocateArray<byte>(SeedSize, pinned: true);
    private readonly byte[] _publicKey = new byte[PublicKeySize];
    private volatile bool _disposed;

    private NodeKey(ReadOnlySpan<byte> seed)
    {
        seed.CopyTo(_seed);
        Ed25519Signer.PublicKeyFromSeed(_seed, _publicKey);
        Id = NodeId.FromPublicKey(_publicKey);
    }

    /// <summary>The raw 32-byte Ed25519 public key.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>The node ID derived from <see cref="PublicKey"/>.</summary>
    public NodeId Id { get; }

    /// <summary>Creates a key from 32 fresh random bytes.</summary>
    public static NodeKey Generate()
    {
        Span<byte> seed = stackalloc byte[SeedSize];
        RandomNumberGenerator.Fill(seed);
        try
        {
            return new NodeKey(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>Creates the key of a 32-byte RFC 8032 seed.</summary>
    /// <exception cref="ArgumentException">the seed is not 32 bytes.</exception>
    public static NodeKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
            throw new ArgumentException("an Ed25519 seed is 32 bytes", nameof(seed));
        return new NodeKey(seed);
    }

    /// <summary>Signs <paramref name="message"/> (pure Ed25519) into the 64-byte <paramref name="signature"/>.</summary>
    internal void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Ed25519Signer.Sign(_seed, _publicKey, message, signature);
    }

    /// <summary>
    /// Loads a CometBFT <c>node_key.json</c>: <c>{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"&lt;base64 seed ‖ pub&gt;"}}</c>.
    /// </summary>
    /// <exception cref="NodeKeyFormatException">the content is not a valid Ed25519 node key.</exception>
    /// <exception cref="IOException">the file cannot be read.</exception>
    public static NodeKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] content;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
        {
            if (file.Length > MaxFileSize)
                throw new NodeKeyFormatException(NodeKeyError.InvalidJson,
                    $"{path}: {file.Length} bytes is too large for a node key file");
            content = new byte[(int)file.Length];
            file.ReadExactly(content);
        }
        try
        {
            return Parse(content, path);
        }
        finally
        {
            // The file text holds the base64 seed.
            CryptographicOperations.ZeroMemory(content);
        }
    }

    /// <summary>
    /// Loads the key at <paramref name="path"/>, or generates one and saves it there if no file exists. Either way,
    /// temporary files left next to it by an interrupted save are deleted.
    /// </summary>
    /// <exception cref="NodeKeyFormatException">a file exists but is not a valid node key (it is left untouched).</exception>
    public static NodeKey LoadOrGenerate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            SweepLegacyTemporaryFiles(Path.GetFullPath(path));
            return Load(path);
        }
        var key = Generate();
        try
        {
            key.Save(path);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the key as CometBFT does (compact JSON, no trailing newline), durably: the content goes to
    /// <c>&lt;path&gt;.tmp</c> in the same directory, is flushed to the disk, renamed over <paramref name="path"/>, and
    /// the directory is flushed (Unix), so a crash leaves the old file or the new one. On Unix the file is created
    /// with mode 0600 (owner read/write only), as CometBFT's <c>SaveAs</c> does; a leftover temporary file is deleted
    /// first rather than reused, so it cannot lend the key a looser mode.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? throw new ArgumentException("path has no directory", nameof(path));
        // A missing folder would otherwise surface as an error about the temporary file, hiding the real cause.
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"cannot save the node key to {full}: the folder {directory} does not exist");
        SweepLegacyTemporaryFiles(full);

        // 64 bytes → 88 base64 chars; prefix + suffix are < 100 bytes. Pinned and cleared: it holds the seed.
        var json = GC.AllocateArray<byte>(256, pinned: true);
        Span<byte> raw = stackalloc byte[GoPrivateKeySize];
        try
        {
            _seed.CopyTo(raw);
            _publicKey.CopyTo(raw[SeedSize..]);
            JsonPrefix.CopyTo(json);
            var length = JsonPrefix.Length;
            Base64.EncodeToUtf8(raw, json.AsSpan(length), out _, out var written);
            length += written;
            JsonSuffix.CopyTo(json.AsSpan(length));
            length += JsonSuffix.Length;
            DurableFile.Write(full, file => file.Write(json, 0, length), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
            CryptographicOperations.ZeroMemory(json);
        }
    }

    // Before the temporary name was fixed, Save used ".<file>.<12 random hex digits>.tmp"; such a file holds a key
    // that never became the node's (the rename did not happen) and is removed rather than left on the disk.
    private static void SweepLegacyTemporaryFiles(string full)
    {
        var prefix = "." + Path.GetFileName(full) + ".";
        DurableFile.SweepTemporaryFiles(full, name =>
            name.Length == prefix.Length + 12 + 4 && name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal)
            && !name.AsSpan(prefix.Length, 12).ContainsAnyExcept("0123456789abcdef"));
    }

    /// <summary>Clears the private seed. The public key and ID stay readable.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_seed);
    }

    private static NodeKey Parse(ReadOnlySpan<byte> content, string path)
    {
        Span<byte> raw = stackalloc byte[GoPrivateKeySize];
        try
        {
            string? type = null;
            var haveValue = false;
            // Utf8JsonReader checks a string's UTF-8 only when it is copied out, and then throws InvalidOperationException
            // (found by fuzz/nodekey); a node_key.json that is not UTF-8 is not JSON.
            if (!System.Text.Unicode.Utf8.IsValid(content))
                throw new NodeKeyFormatException(NodeKeyError.InvalidJson, $"{path}: not valid JSON: the text is not valid UTF-8");
            var reader = new Utf8JsonReader(content, new JsonReaderOptions { MaxDepth = 8 });
            try
            {
                Expect(ref reader, JsonTokenType.StartObject, path);
                var havePrivKey = false;
                while (Next(ref reader) == JsonTokenType.PropertyName)
                {
                    if (!reader.ValueTextEquals("priv_key"u8))
                    {
                        reader.Skip();
                        continue;
                    }
                    havePrivKey = true;
                    Expect(ref reader, JsonTokenType.StartObject, path);
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("type"u8))
                        {
                            Expect(ref reader, JsonTokenType.String, path);
                            type = reader.GetString();
                        }
                        else if (reader.ValueTextEquals("value"u8))
                        {
                            Expect(ref reader, JsonTokenType.String, path);
                            DecodeValue(ref reader, raw, path);
                            haveValue = true;
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                    throw Invalid(path, "trailing content after the JSON object");
                if (!havePrivKey)
                    throw Invalid(path, "missing \"priv_key\"");
            }
            catch (JsonException ex)
            {
                throw new NodeKeyFormatException(NodeKeyError.InvalidJson, $"{path}: not valid JSON: {ex.Message}", ex);
            }
            if (type is null || !haveValue)
                throw Invalid(path, "\"priv_key\" needs \"type\" and \"value\"");
            if (type != PrivateKeyType)
                throw new NodeKeyFormatException(NodeKeyError.UnsupportedKeyType,
                    $"{path}: key type \"{type}\" is not supported (want \"{PrivateKeyType}\")");

            var key = new NodeKey(raw[..SeedSize]);
            if (!CryptographicOperations.FixedTimeEquals(key._publicKey, raw[SeedSize..]))
            {
                key.Dispose();
                throw new NodeKeyFormatException(NodeKeyError.PublicKeyMismatch,
                    $"{path}: the stored public key does not belong to the stored seed");
            }
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    private static void DecodeValue(ref Utf8JsonReader reader, scoped Span<byte> raw, string path)
    {
        // 88 chars of base64 for 64 bytes; allow a little slack so a wrong length is reported as such.
        const int maxChars = 256;
        if ((reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length) > maxChars)
            throw WrongLength(path);
        Span<byte> text = stackalloc byte[maxChars];
        Span<byte> decoded = stackalloc byte[maxChars];
        try
        {
            var n = reader.CopyString(text);
            var status = Base64.DecodeFromUtf8(text[..n], decoded, out _, out var written);
            if (status != System.Buffers.OperationStatus.Done || written != GoPrivateKeySize)
                throw WrongLength(path);
            decoded[..GoPrivateKeySize].CopyTo(raw);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
            CryptographicOperations.ZeroMemory(decoded);
        }
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            throw new JsonException("unexpected end of data");
        return reader.TokenType;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string path)
    {
        if (Next(ref reader) != type)
            throw Invalid(path, $"expected {type}, found {reader.TokenType}");
    }

    private static NodeKeyFormatException Invalid(string path, string what) =>
        new(NodeKeyError.InvalidJson, $"{path}: not a node key file: {what}");

    private static NodeKeyFormatException WrongLength(string path) =>
        new(NodeKeyError.InvalidKeyLength, $"{path}: \"value\" must be base64 of {GoPrivateKeySize} bytes (seed ‖ public key)");
}
