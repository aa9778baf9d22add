using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;
using Switchboard.Transport;

namespace Switchboard.Tests.Integration;

/// <summary>How the TCP transport listens: exclusively, and saying why it refuses a connection.</summary>
public class TcpListeningTests
{
    private static NodeInfo InfoFor(NodeKey key, byte[] channels) => new()
    {
        Id = key.Id,
        ListenAddr = "127.0.0.1:26656",
        Network = "listen-test",
        Version = "0.38.19",
        Channels = channels,
        Moniker = "node",
    };

    [Fact]
    public async Task ASecondTransportCannotListenOnAPortInUse()
    {
        using var firstKey = NodeKey.Generate();
        using var secondKey = NodeKey.Generate();
        await using var first = new TcpTransport(firstKey) { LocalNodeInfo = InfoFor(firstKey, [0x77]) };
        await using var second = new TcpTransport(secondKey) { LocalNodeInfo = InfoFor(secondKey, [0x77]) };
        var bound = await first.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));

        // With SO_REUSEPORT (what .NET's ReuseAddress sets on Linux) both would bind and share the connections.
        var ex = await Assert.ThrowsAsync<SocketException>(() => second.ListenAsync(new IPEndPoint(IPAddress.Loopback, bound.Port)));

        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
        Assert.Null(second.ListenAddress);
    }

    [Fact]
    public async Task AClosedTransportsPortCanBeListenedOnAgainAtOnce()
    {
        using var key = NodeKey.Generate();
        int port;
        await using (var first = new TcpTransport(key) { LocalNodeInfo = InfoFor(key, [0x77]) })
        {
            port = (await first.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0))).Port;
            // A connection accepted and closed by us leaves the server side of it in TIME_WAIT.
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        }
        await using var again = new TcpTransport(key) { LocalNodeInfo = InfoFor(key, [0x77]) };

        var bound = await again.ListenAsync(new IPEndPoint(IPAddress.Loopback, port));

        Assert.Equal(port, bound.Port);
    }

    [Fact]
    public async Task ARefusedInboundConnectionIsLoggedAtInformationWithTheReasonAndTheRemote()
    {
        var log = new CapturingLogger();
        using var serverKey = NodeKey.Generate();
        using var clientKey = NodeKey.Generate();
        await using var server = new TcpTransport(serverKey, new TransportOptions(), log) { LocalNodeInfo = InfoFor(serverKey, [0x77]) };
        await using var client = new TcpTransport(clientKey) { LocalNodeInfo = InfoFor(clientKey, [0x40]) };
        var bound = await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));

        var dial = await Assert.ThrowsAsync<PeerRejectedException>(() => client.DialAsync(bound).AsTask());
        Assert.Equal(RejectReason.Incompatible, dial.Reason);

        await Eventually.TrueAsync(() => log.Lines.Any(l => l.EventId.Id == 304), "the server logged the refusal");
        var line = Assert.Single(log.Lines, l => l.EventId.Id == 304);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.StartsWith("Inbound connection from 127.0.0.1:", line.Message);
        Assert.Contains("refused: Incompatible: incompatible peer", line.Message);
        Assert.Contains("no common channel", line.Message);
        Assert.Null(line.Exception);
    }

    [Fact]
    public void TheRateLimiterLetsABurstThroughPerPeriodAndCountsTheRest()
    {
        var time = new ManualTimeProvider();
        var limiter = new LogRateLimiter(3, TimeSpan.FromMinutes(1), time);

        var first = Enumerable.Range(0, 10).Select(_ => limiter.TryAcquire(out var s) ? s : -1).ToList();
        time.Advance(TimeSpan.FromSeconds(59));
        var stillLimited = limiter.TryAcquire(out _);
        time.Advance(TimeSpan.FromSeconds(1));
        var next = limiter.TryAcquire(out var suppressed);
        var nextAgain = limiter.TryAcquire(out var suppressedAgain);

        Assert.Equal([0, 0, 0, -1, -1, -1, -1, -1, -1, -1], first);
        Assert.False(stillLimited);
        Assert.True(next);
        Assert.Equal(8, suppressed); // 7 in the first burst's minute plus the one at 59 s
        Assert.True(nextAgain);
        Assert.Equal(0, suppressedAgain);
    }
}
