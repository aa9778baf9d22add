namespace Switchboard.Conn;

/// <summary>How MConnection packets are framed on the (decrypted) stream. Both ends must use the same one.</summary>
public enum PacketFraming
{
    /// <summary>CometBFT's length-delimited <c>tendermint.p2p.Packet</c> (PROTOCOL.md section 1). The default,
    /// and the only framing a CometBFT node understands.</summary>
    CometBft,

    /// <summary>The 2017 Tendermint framing (ping <c>01</c>, pong <c>02</c>, msg <c>03</c> …; PROTOCOL.md appendix A),
    /// for links between Switchboard nodes that both select it.</summary>
    Legacy,
}
