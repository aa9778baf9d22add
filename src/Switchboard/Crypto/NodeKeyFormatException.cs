namespace Switchboard.Crypto;

/// <summary>What is wrong with a <c>node_key.json</c> file.</summary>
public enum NodeKeyError
{
    /// <summary>The file is not JSON, or not the <c>{"priv_key":{"type":…,"value":…}}</c> shape.</summary>
    InvalidJson,
    /// <summary>The key type is not <c>tendermint/PrivKeyEd25519</c>.</summary>
    UnsupportedKeyType,
    /// <summary>The value is not base64 of exactly 64 bytes (32-byte seed ‖ 32-byte public key).</summary>
    InvalidKeyLength,
    /// <summary>The stored public half is not the public key of the stored seed.</summary>
    PublicKeyMismatch,
}

/// <summary>A node key file could not be loaded; <see cref="Error"/> says why.</summary>
public sealed class NodeKeyFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public NodeKeyFormatException(NodeKeyError error, string message, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    /// <summary>What is wrong with the file.</summary>
    public NodeKeyError Error { get; }
}
