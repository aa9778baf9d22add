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
