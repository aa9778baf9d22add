using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Switchboard.Crypto;

/// <summary>
/// A node's identity: lowercase hex of the first 20 bytes of SHA-256 of its Ed25519 public key (40 chars).
/// </summary>
/// <remarks>
/// Comparison is ordinal on the lowercase string, as CometBFT compares IDs as plain strings. Parsing accepts
/// upper-case hex (Go's decoder does) but normalises to lowercase, so an ID typed in upper case in a config
/// still matches the ID derived from the key — CometBFT would report "dialed ID mismatch" there.
/// </remarks>
public readonly record struct NodeId : IComparable<NodeId>
{
    /// <summary>20: an ID is the first 20 bytes of SHA-256(public key).</summary>
    public const int ByteLength = 20;

    /// <summary>40: hex characters of an ID.</summary>
    public const int HexLength = ByteLength * 2;

    private readonly string? _hex;

    private NodeId(string hex) => _hex = hex;

    /// <summary>The 40-character lowercase hex form (empty for <c>default</c>).</summary>
    public string Value => _hex ?? string.Empty;

    /// <summary>True for <c>default(NodeId)</c>.</summary>
    public bool IsEmpty => _hex is null;

    /// <summary>Derives the ID of a raw 32-byte Ed25519 public key.</summary>
    public static NodeId FromPublicKey(ReadOnlySpan<byte> ed25519PublicKey)
    {
        if (ed25519PublicKey.Length != 32)
            throw new ArgumentException("an Ed25519 public key is 32 bytes", nameof(ed25519PublicKey));
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(ed25519PublicKey, hash);
        return new NodeId(Convert.ToHexStringLower(hash[..ByteLength]));
    }

    /// <summary>Validates like CometBFT's <c>validateID</c>: non-empty, hex, exactly 20 bytes.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out NodeId id)
    {
        id = default;
        if (text is null || text.Length != HexLength) return false;
        foreach (var c in text)
            if (!char.IsAsciiHexDigit(c)) return false;
        id = new NodeId(text.ToLowerInvariant());
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/>.</summary>
    public static NodeId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"invalid node ID \"{text}\": want 40 hex characters");

    /// <inheritdoc/>
    public int CompareTo(NodeId other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc/>
    public override string ToString() => Value;
}
