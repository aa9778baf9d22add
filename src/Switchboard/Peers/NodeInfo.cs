using System.Diagnostics.CodeAnalysis;
using System.Text;
using Switchboard.Crypto;

namespace Switchboard.Peers;

/// <summary>
/// What a node announces about itself right after the SecretConnection handshake (CometBFT's
/// <c>DefaultNodeInfo</c>, PROTOCOL.md 4.2). Both ends send theirs; the peer's is checked with
/// <see cref="Validate"/> and <see cref="CompatibleWith"/>.
/// </summary>
/// <remarks>
/// Equality compares every field, channel lists by content. A NodeInfo decoded from a peer keeps the node ID
/// text exactly as sent: an ID that is not 40 lowercase hex characters shows as <c>default</c> (or lowercased) in
/// <see cref="Id"/>, but <see cref="Validate"/>, the authentication check and re-encoding use the text as received,
/// as CometBFT compares IDs as plain strings.
/// </remarks>
public sealed partial record NodeInfo
{
    /// <summary>10240: CometBFT's <c>MaxNodeInfoSize</c>, the limit on a peer's encoded NodeInfo (without prefix).</summary>
    public const int MaxSize = 10240;

    /// <summary>16: CometBFT's <c>maxNumChannels</c>; a peer announcing more is invalid.</summary>
    public const int MaxChannels = 16;

    private readonly NodeId _id;
    private readonly string? _wireId;
    private readonly string _listenAddr = "";
    private readonly string _network = "";
    private readonly string _version = "";
    private readonly byte[] _channels = [];
    private readonly string _moniker = "";
    private readonly string _txIndex = "";
    private readonly string _rpcAddress = "";

    /// <summary>Creates an empty NodeInfo with <see cref="ProtocolVersion.Default"/>; set the fields with an initializer.</summary>
    public NodeInfo() { }

    // For decoding: keeps the ID text as the peer sent it when it is not the canonical form of a NodeId.
    private NodeInfo(string idText)
    {
        NodeId.TryParse(idText, out _id);
        if (idText != _id.Value) _wireId = idText;
    }

    /// <summary>The protocol versions (default p2p 8, block 11, app 0).</summary>
    public ProtocolVersion ProtocolVersion { get; init; } = ProtocolVersion.Default;

    /// <summary>The node's ID (<c>default_node_id</c>).</summary>
    public NodeId Id
    {
        get => _id;
        init
        {
            _id = value;
            _wireId = null;
        }
    }

    /// <summary>
    /// The address the node accepts connections on, verbatim (<c>external_address</c> if set, else <c>laddr</c>),
    /// e.g. <c>tcp://0.0.0.0:26656</c> or <c>1.2.3.4:26656</c>.
    /// </summary>
    public string ListenAddr { get => _listenAddr; init => _listenAddr = NotNull(value); }

    /// <summary>The chain ID; peers must be on the same one.</summary>
    public string Network { get => _network; init => _network = NotNull(value); }

    /// <summary>The software version, e.g. <c>0.38.19</c>.</summary>
    public string Version { get => _version; init => _version = NotNull(value); }

    /// <summary>
    /// The channel IDs the node serves, one byte per channel ID (sent as a protobuf <c>bytes</c> field, not a
    /// packed repeated field). The value is copied on assignment, so the record stays immutable.
    /// </summary>
    public ReadOnlyMemory<byte> Channels { get => _channels; init => _channels = value.ToArray(); }

    /// <summary>A human-readable node name (printable ASCII).</summary>
    public string Moniker { get => _moniker; init => _moniker = NotNull(value); }

    /// <summary><c>on</c>, <c>off</c> or empty (<c>other.tx_index</c>).</summary>
    public string TxIndex { get => _txIndex; init => _txIndex = NotNull(value); }

    /// <summary>The node's RPC listen address, e.g. <c>tcp://127.0.0.1:26657</c>, or empty (<c>other.rpc_address</c>).</summary>
    public string RpcAddress { get => _rpcAddress; init => _rpcAddress = NotNull(value); }

    /// <summary>The node ID text as carried on the wire (differs from <see cref="Id"/> only for a decoded, odd ID).</summary>
    internal string IdText => _wireId ?? _id.Value;

    /// <summary>
    /// The node's address for others to dial: <see cref="Id"/> with the host and port of <see cref="ListenAddr"/>,
    /// when that host is an IP literal. Null when the listen address is a host name or does not parse.
    /// </summary>
    public NetAddress? TryGetNetAddress() =>
        NetAddress.TryParse(IdText + "@" + NetAddressText.StripScheme(ListenAddr), out var address) ? address : null;

    /// <summary>
    /// Checks the fields a peer controls, in CometBFT's order (PROTOCOL.md 4.2): listen address with the ID, version,
    /// channels (at most 16, no duplicates), moniker, tx_index, rpc_address. Network and versions are checked by
    /// <see cref="CompatibleWith"/>.
    /// </summary>
    /// <remarks>
    /// One deliberate difference from CometBFT: a listen address whose host is a name is accepted if the name is
    /// syntactically valid, without the DNS lookup Go does inside the handshake (a slow or hostile resolver must
    /// not stall or decide a handshake; the name is never dialed from here anyway).
    /// </remarks>
    /// <exception cref="PeerRejectedException">with <see cref="RejectReason.InvalidNodeInfo"/> and the reason.</exception>
    public void Validate()
    {
        if (!TryValidate(out var error))
            throw new PeerRejectedException(RejectReason.InvalidNodeInfo, $"invalid NodeInfo: {error}");
    }

    /// <summary>The checks of <see cref="Validate"/> without throwing; <paramref name="error"/> says what failed.</summary>
    public bool TryValidate([NotNullWhen(false)] out string? error)
    {
        // The ID and listen address are checked together, as CometBFT parses IDAddressString(id, listen_addr).
        var composed = IdText + "@" + NetAddressText.StripScheme(ListenAddr);
        if (!NetAddress.TrySplitIdHostPort(composed, out _, out var host, out _, out var addressError))
        {
            error = $"listen address \"{Clip(ListenAddr)}\" with ID \"{Clip(IdText)}\": {addressError}";
            return false;
        }
        if (!NetAddressText.TryParseIp(host, out _) && !NetAddressText.IsHostName(host))
        {
            error = $"listen address \"{Clip(ListenAddr)}\": host is neither an IP address nor a host name";
            return false;
        }
        if (Version.Length > 0 && !IsAsciiText(Version))
        {
            error = $"version must be printable ASCII and not only spaces, got \"{Clip(Version)}\"";
            return false;
        }
        if (_channels.Length > MaxChannels)
        {
            error = $"{_channels.Length} channels, at most {MaxChannels} are allowed";
            return false;
        }
        Span<bool> seen = stackalloc bool[256];
        foreach (var channel in _channels)
        {
            if (seen[channel])
            {
                error = $"duplicate channel 0x{channel:x2}";
                return false;
            }
            seen[channel] = true;
        }
        if (!IsAsciiText(Moniker))
        {
            error = $"moniker must be non-empty printable ASCII and not only spaces, got \"{Clip(Moniker)}\"";
            return false;
        }
        if (TxIndex is not ("" or "on" or "off"))
        {
            error = $"tx_index must be \"on\", \"off\" or empty, got \"{Clip(TxIndex)}\"";
            return false;
        }
        if (RpcAddress.Length > 0 && !IsAsciiText(RpcAddress))
        {
            error = $"rpc_address must be printable ASCII and not only spaces, got \"{Clip(RpcAddress)}\"";
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>
    /// Whether a peer with <paramref name="other"/> can talk to us (CometBFT's <c>CompatibleWith</c>, called on our
    /// own NodeInfo): same block version, same network, and at least one common channel unless our channel list
    /// is empty. The p2p and app versions are ignored.
    /// </summary>
    /// <exception cref="PeerRejectedException">with <see cref="RejectReason.Incompatible"/> and the reason.</exception>
    public void CompatibleWith(NodeInfo other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ProtocolVersion.Block != other.ProtocolVersion.Block)
            throw Incompatible($"peer is on block version {other.ProtocolVersion.Block}, we are on {ProtocolVersion.Block}");
        if (Network != other.Network)
            throw Incompatible($"peer is on network \"{Clip(other.Network)}\", we are on \"{Network}\"");
        // An empty own list means we serve nothing in particular (tests, tools): anyone is acceptable.
        if (_channels.Length == 0) return;
        if (_channels.AsSpan().IndexOfAny(other._channels) < 0)
            throw Incompatible($"no common channel: ours are {FormatChannels(_channels)}, the peer's are {FormatChannels(other._channels)}");
    }

    // "0x77 0x00", as CometBFT's logs write channel ids (and the switchboard command everywhere).
    private static string FormatChannels(byte[] channels) =>
        channels.Length == 0 ? "(none)" : string.Join(' ', channels.Select(c => "0x" + c.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private static PeerRejectedException Incompatible(string reason) => new(RejectReason.Incompatible, $"incompatible peer: {reason}");

    // CometBFT's IsASCIIText plus "not only spaces" (ASCIITrim != ""): non-empty, every char in 32..126, some char not a space.
    private static bool IsAsciiText(string text)
    {
        if (text.Length == 0) return false;
        var sawNonSpace = false;
        foreach (var c in text)
        {
            if (c < 32 || c > 126) return false;
            if (c != ' ') sawNonSpace = true;
        }
        return sawNonSpace;
    }

    // Peer-supplied text goes into exception messages and logs; keep it short.
    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "…";

    private static string NotNull(string value) => value ?? throw new ArgumentNullException(nameof(value));

    /// <inheritdoc/>
    public bool Equals(NodeInfo? other) =>
        other is not null &&
        ProtocolVersion == other.ProtocolVersion &&
        IdText == other.IdText &&
        ListenAddr == other.ListenAddr &&
        Network == other.Network &&
        Version == other.Version &&
        _channels.AsSpan().SequenceEqual(other._channels) &&
        Moniker == other.Moniker &&
        TxIndex == other.TxIndex &&
        RpcAddress == other.RpcAddress;

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(ProtocolVersion);
        hash.Add(IdText, StringComparer.Ordinal);
        hash.Add(ListenAddr, StringComparer.Ordinal);
        hash.Add(Network, StringComparer.Ordinal);
        hash.AddBytes(_channels);
        hash.Add(Moniker, StringComparer.Ordinal);
        return hash.ToHashCode();
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ProtocolVersion = ").Append(ProtocolVersion)
            .Append(", Id = ").Append(IdText)
            .Append(", ListenAddr = ").Append(ListenAddr)
            .Append(", Network = ").Append(Network)
            .Append(", Version = ").Append(Version)
            .Append(", Channels = ").Append(Convert.ToHexStringLower(_channels))
            .Append(", Moniker = ").Append(Moniker)
            .Append(", TxIndex = ").Append(TxIndex)
            .Append(", RpcAddress = ").Append(RpcAddress);
        return true;
    }
}
