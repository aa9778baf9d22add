using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Wire.Proto;

namespace Switchboard.Fuzz;

/// <summary>The messages a remote peer sends during and after the upgrade: NodeInfo, AuthSig, PEX.</summary>
internal static class PeerTargets
{
    /// <summary>Ours, for CompatibleWith and VerifyPeer: CometBFT's test network and channels.</summary>
    internal static readonly Peers.NodeInfo Ours = new()
    {
        Id = NodeKey.FromSeed(Fixed.Seq(0x00, 32)).Id,
        ListenAddr = "tcp://127.0.0.1:26656",
        Network = "test-chain",
        Version = "0.38.25",
        Channels = new byte[] { 0x40, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61, 0x00, 0x77 },
        Moniker = "fuzz",
    };

    public static readonly FuzzTarget NodeInfo = new(
        "nodeinfo",
        "NodeInfo.Decode of a delimited DefaultNodeInfo, then Validate, CompatibleWith, VerifyPeer and an encode/decode round trip",
        NodeInfoBody,
        ex => ex is ProtocolViolationException or PeerRejectedException,
        FuzzTargets.Linear(256 * 1024, 64));

    public static readonly FuzzTarget AuthSig = new(
        "authsig",
        "a delimited AuthSigMessage read as the handshake reads it (capped at 103 bytes), then VerifyAuthSig on the challenge a0..bf",
        AuthSigBody,
        ex => ex is ProtocolViolationException or PeerRejectedException,
        FuzzTargets.Linear(256 * 1024, 64));

    public static readonly FuzzTarget Pex = new(
        "pex",
        "PexMessages.Decode of a channel-0 message, each address through NetAddress.TryFromProto and into an address book",
        PexBody,
        ex => ex is ProtocolViolationException,
        FuzzTargets.Linear(2 * 1024 * 1024, 512));

    private static void NodeInfoBody(byte[] input)
    {
        var theirs = Peers.NodeInfo.Decode(input);
        var valid = theirs.TryValidate(out var error);
        FuzzTargets.Check(valid || error is { Length: > 0 }, "TryValidate failed without a reason");
        if (valid)
        {
            theirs.Validate();
            FuzzTargets.Check(theirs.Channels.Length <= Peers.NodeInfo.MaxChannels, $"valid NodeInfo with {theirs.Channels.Length} channels");
        }
        _ = theirs.TryGetNetAddress();
        var round = Peers.NodeInfo.Decode(theirs.Encode());
        FuzzTargets.Check(round == theirs, "a NodeInfo re-encoded and decoded again differs");
        try
        {
            Ours.CompatibleWith(theirs);
        }
        catch (PeerRejectedException ex) when (ex.Reason == RejectReason.Incompatible)
        {
            // An incompatible peer is an answer, not a failure; VerifyPeer below still runs.
        }
        Handshake.VerifyPeer(theirs, theirs.Id, Ours);
    }

    private static void AuthSigBody(byte[] input)
    {
        using var stream = new InputStream(input);
        var message = Wire.Delimited.ReadMessageAsync(stream, AuthSigMessage.Parser, SecretConnection.MaxAuthSigMessageBodySize)
            .AsTask().GetAwaiter().GetResult();
        var key = SecretConnection.VerifyAuthSig(message, Fixed.Seq(0xa0, 32));
        // Only the holder of the private key can sign the challenge; the seeds hold the signature of seed 00..1f.
        FuzzTargets.Check(key.AsSpan().SequenceEqual(Fixed.AuthSigSigner.PublicKey.Span),
            $"VerifyAuthSig accepted a signature by {Convert.ToHexStringLower(key)}");
    }

    private static void PexBody(byte[] input)
    {
        var addrs = PexMessages.Decode(input);
        if (addrs is null) return;
        AddrBook? book = null;
        var source = Peers.NetAddress.Parse(Fixed.SourceAddress);
        foreach (var proto in addrs)
        {
            if (!Peers.NetAddress.TryFromProto(proto, out var address, out var error))
            {
                FuzzTargets.Check(error is { Length: > 0 }, "TryFromProto failed without a reason");
                continue;
            }
            FuzzTargets.Check(!address.IsRoutable || address.IsValid, "routable but not valid");
            if (!address.IsValid) continue;
            var text = address.ToString();
            FuzzTargets.Check(Peers.NetAddress.TryParse(text, out var parsed) && parsed == address,
                $"'{text}' does not parse back to the same address");
            book ??= new AddrBook(new AddrBookOptions { Random = new Random(1), TimeProvider = Fixed.Time });
            book.AddAddress(address, source);
        }
        if (book is not null)
            FuzzTargets.Check(book.Size <= addrs.Count, $"{book.Size} entries from {addrs.Count} addresses");
    }
}

/// <summary>Fixed keys, time and addresses, so that every run of an input does the same thing.</summary>
internal static class Fixed
{
    /// <summary><paramref name="length"/> bytes counting up from <paramref name="first"/> (the vectors' key layout).</summary>
    public static byte[] Seq(int first, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)(first + i);
        return bytes;
    }

    /// <summary>The signer of TestData/vectors/authsig.json (seed 00..1f).</summary>
    public static readonly NodeKey AuthSigSigner = NodeKey.FromSeed(Seq(0x00, 32));

    public const string SourceAddress = "56475aa75463474c0285df5dbf2bcab73da65135@8.8.8.8:26656";

    public static readonly TimeProvider Time = new FixedTime(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
