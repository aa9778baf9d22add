using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;
using Switchboard.Transport;

namespace Switchboard.Tests.Integration;

/// <summary>The inbound upgrade's edges: before LocalNodeInfo exists, and when something unexpected throws.</summary>
public class TransportUpgradeTests
{
    private static NodeInfo Info(NodeKey key) => new()
    {
        ProtocolVersion = new ProtocolVersion(8, 11, 0),
        Id = key.Id,
        ListenAddr = "127.0.0.1:1",
        Network = "test-chain",
        Version = "0.38.19",
        Channels = new byte[] { 0x10 },
        Moniker = "t",
        TxIndex = "off",
    };

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task AnInboundUpgradeThatStartsBeforeLocalNodeInfoIsSetWaitsForIt(TransportKind kind)
    {
        var serverKey = NodeKey.Generate();
        var clientKey = NodeKey.Generate();
        await using var server = kind.Create(serverKey, new TransportOptions { AllowDuplicateIp = true, MaxIncomingConnections = 1 });
        await using var client = kind.Create(clientKey, new TransportOptions { AllowDuplicateIp = true });
        client.LocalNodeInfo = Info(clientKey);
        var bound = await server.ListenAsync(kind.ListenEndpoint);
        // The window a Switch has between listening and knowing its NodeInfo (its port comes from the bind).
        var dial = client.DialAsync(bound).AsTask();
        await Eventually.TrueAsync(() => PendingUpgrades(server) == 1, "the inbound upgrade started");
        Assert.False(dial.IsCompleted);
        server.LocalNodeInfo = Info(serverKey) with { ListenAddr = bound.DialString };
        await using var outbound = await Eventually.WithinAsync(dial, "dial completes once LocalNodeInfo is set");
        await using var inbound = await server.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(clientKey.Id, inbound.NodeInfo.Id);
        Assert.Equal(bound.DialString, outbound.NodeInfo.ListenAddr);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task AnUnexpectedFailureInAnInboundUpgradeReleasesItsSlotAndAddress(TransportKind kind)
    {
        var serverKey = NodeKey.Generate();
        var calls = 0;
        ConnectionFilter throwsOnce = (_, _) => Interlocked.Increment(ref calls) == 1
            ? throw new InvalidOperationException("a filter bug")
            : ValueTask.FromResult<string?>(null);
        // One inbound slot and no duplicate IPs: a leaked slot or address entry would refuse the second dial.
        await using var server = kind.Create(serverKey, new TransportOptions { MaxIncomingConnections = 1, Filters = [throwsOnce] });
        server.LocalNodeInfo = Info(serverKey);
        var bound = await server.ListenAsync(kind.ListenEndpoint);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var clientKey = NodeKey.Generate();
            await using var client = kind.Create(clientKey, new TransportOptions(), IPAddress.Parse("100.70.9.9"));
            client.LocalNodeInfo = Info(clientKey);
            if (attempt == 0)
            {
                // The server hangs up mid-handshake: the dialer sees the stream end (or a truncated message).
                var error = await Record.ExceptionAsync(async () => await client.DialAsync(bound));
                Assert.True(error is IOException or ProtocolViolationException, $"unexpected {error}");
                await Eventually.TrueAsync(() => PendingUpgrades(server) == 0, "the failed upgrade finished");
                continue;
            }
            await using var conn = await client.DialAsync(bound).AsTask().WaitAsync(TimeSpan.FromSeconds(15));
            await using var accepted = await server.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(clientKey.Id, accepted.NodeInfo.Id);
        }
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task ASwitchThatFailsToStartIsLeftStopped()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var key = NodeKey.Generate();
        await using var sw = new Switch(new TcpTransport(key), key, new SwitchOptions { Network = "test-chain" });
        sw.OpenChannel(Channels.Make(0x10));
        var error = await Record.ExceptionAsync(() => sw.StartAsync((IPEndPoint)taken.LocalEndpoint));
        Assert.IsType<System.Net.Sockets.SocketException>(error);
        Assert.False(sw.IsRunning);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sw.StartAsync(null)); // not restartable
    }

    private static int PendingUpgrades(ITransport transport) => transport switch
    {
        ICoreTransport t => t.Core.PendingUpgrades,
        _ => throw new ArgumentException("unknown transport"),
    };
}
