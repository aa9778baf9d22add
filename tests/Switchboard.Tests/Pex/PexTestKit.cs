using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Pex;

/// <summary>Addresses, IDs and books for the PEX tests.</summary>
internal static class PexTestKit
{
    public static NodeId RandomId(Random random)
    {
        var bytes = new byte[NodeId.ByteLength];
        random.NextBytes(bytes);
        return NodeId.Parse(Convert.ToHexStringLower(bytes));
    }

    public static NetAddress Addr(Random random, string ip, ushort port = 26656) => new(RandomId(random), IPAddress.Parse(ip), port);

    /// <summary>A routable IPv4 address in its own /16 for every i below 65,000 (first octets 20..).</summary>
    public static string DistinctGroupIp(int i, int host = 1) => $"{20 + i / 250}.{i % 250}.0.{host}";

    public static AddrBook Book(ManualTimeProvider time, int seed = 1, Func<AddrBookOptions, AddrBookOptions>? configure = null)
    {
        var options = new AddrBookOptions { TimeProvider = time, Random = new Random(seed) };
        if (configure is not null) options = configure(options);
        return new AddrBook(options);
    }

    /// <summary>Adds n addresses, each in its own group and learned from its own source group.</summary>
    public static List<NetAddress> Fill(AddrBook book, Random random, int n, int offset = 0)
    {
        var added = new List<NetAddress>();
        for (var i = offset; i < offset + n; i++)
        {
            var a = Addr(random, DistinctGroupIp(i));
            var src = Addr(random, DistinctGroupIp(i + 30_000));
            Assert.Equal(AddAddressResult.Added, book.AddAddress(a, src));
            added.Add(a);
        }
        return added;
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "switchboard-pex-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>A node running a PexReactor on the in-memory transport.</summary>
internal sealed class PexNode : IAsyncDisposable
{
    public required Integration.TestNode Node { get; init; }
    public required PexReactor Pex { get; init; }
    public AddrBook Book => Pex.Book;
    public Switch Switch => Node.Switch;
    public NodeId Id => Node.Id;
    public NetAddress Address => Node.Address;

    public static async Task<PexNode> StartAsync(Integration.MemoryKind kind, ManualTimeProvider time, IPAddress? ip = null,
        Func<PexReactorOptions, PexReactorOptions>? pex = null, Func<SwitchOptions, SwitchOptions>? sw = null,
        Func<AddrBookOptions, AddrBookOptions>? book = null, int seed = 1, NodeKey? key = null)
    {
        var bookOptions = new AddrBookOptions { TimeProvider = time, Random = new Random(seed) };
        if (book is not null) bookOptions = book(bookOptions);
        var options = new PexReactorOptions { TimeProvider = time, Random = new Random(seed + 1) };
        if (pex is not null) options = pex(options);
        var reactor = new PexReactor(new AddrBook(bookOptions), options);
        var node = await Integration.TestNode.StartAsync(kind,
            o => (sw ?? (x => x))(o with { TimeProvider = time, Random = new Random(seed + 2) }),
            s => s.AddReactor(reactor), key: key, ip: ip);
        return new PexNode { Node = node, Pex = reactor };
    }

    public DialAddress DialAddress => new(Id, Address.Ip.ToString(), Address.Port);

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}

/// <summary>A node speaking raw bytes on the PEX channel, to play a misbehaving (or scripted) peer.</summary>
internal sealed class RawPexNode : IAsyncDisposable
{
    public required Integration.TestNode Node { get; init; }
    public required AgentChannel Channel { get; init; }
    public Switch Switch => Node.Switch;
    public NodeId Id => Node.Id;
    public NetAddress Address => Node.Address;

    public static async Task<RawPexNode> StartAsync(Integration.MemoryKind kind, IPAddress? ip = null, NodeKey? key = null)
    {
        AgentChannel? channel = null;
        var node = await Integration.TestNode.StartAsync(kind,
            register: s => channel = s.OpenChannel(new global::Switchboard.Conn.ChannelDescriptor(PexReactor.ChannelId, 1)
            {
                SendQueueCapacity = 10,
                RecvMessageCapacity = PexReactor.MaxMessageSize,
            }), ip: ip, key: key);
        return new RawPexNode { Node = node, Channel = channel! };
    }

    public static byte[] Request => [0x0a, 0x00];

    public static byte[] Addrs(params NetAddress[] addresses) => PexMessages.EncodeAddrs(addresses);

    public static byte[] AddrsRaw(string id, string ip, uint port)
    {
        var addrs = new global::Switchboard.Wire.Proto.PexAddrs();
        addrs.Addrs.Add(new global::Switchboard.Wire.Proto.NetAddress { Id = id, Ip = ip, Port = port });
        return Google.Protobuf.MessageExtensions.ToByteArray(new global::Switchboard.Wire.Proto.Message { PexAddrs = addrs });
    }

    /// <summary>The next message on the PEX channel, decoded: null for a PexRequest, else the addresses.</summary>
    public async Task<IReadOnlyList<global::Switchboard.Wire.Proto.NetAddress>?> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var e = await Channel.ReadAsync(cts.Token);
        return PexMessages.Decode(e.Message);
    }

    /// <summary>The next PexAddrs, skipping requests.</summary>
    public async Task<IReadOnlyList<global::Switchboard.Wire.Proto.NetAddress>> NextAddrsAsync()
    {
        while (true)
            if (await NextAsync() is { } addrs) return addrs;
    }

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}
