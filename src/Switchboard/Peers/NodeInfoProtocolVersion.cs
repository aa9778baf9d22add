namespace Switchboard.Peers;

/// <summary>The protocol versions a node announces in its <see cref="NodeInfo"/> (<c>tendermint.p2p.ProtocolVersion</c>).</summary>
/// <remarks><c>default(ProtocolVersion)</c> is all zeros; use <see cref="Default"/> for what a v0.38 node sends.</remarks>
/// <param name="P2P">The p2p protocol version (8 in CometBFT v0.34–v0.40, 9 in v1.x). Not checked for compatibility.</param>
/// <param name="Block">The block protocol version (11 in every CometBFT release); must be equal on both ends.</param>
/// <param name="App">The application's version from state. Not checked for compatibility.</param>
public readonly record struct ProtocolVersion(ulong P2P, ulong Block, ulong App)
{
    /// <summary>8: the p2p version of CometBFT v0.34 to v0.40 (PROTOCOL.md 4.2), the protocol implemented here.</summary>
    public const ulong DefaultP2P = 8;

    /// <summary>11: the block version of every CometBFT release (PROTOCOL.md 4.2).</summary>
    public const ulong DefaultBlock = 11;

    /// <summary>p2p 8, block 11, app 0.</summary>
    public static ProtocolVersion Default => new(DefaultP2P, DefaultBlock, 0);
}
