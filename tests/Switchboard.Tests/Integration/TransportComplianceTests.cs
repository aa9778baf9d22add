using System.Net;
using System.Net.Sockets;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Tests.Support;
using Switchboard.Transport;

namespace Switchboard.Tests.Integration;

/// <summary>The contract every transport must meet, run against TCP and in-memory.</summary>
public class TransportComplianceTests
{
    private static NodeInfo InfoFor(NodeKey key, string network = "test-chain", byte[]? channels = null) => new()
    {
        Id = key.Id,
        ListenAddr = "127.0.0.1:26656",
        Network = network,
        Version = "0.38.19",
        Channels = channels ?? [0x77],
        Moniker = "node",
    };

    private static async Task<(ITransport Transport, NodeKey Key)> ListeningAsync(TransportKind kind, TransportOptions? options = null,
        IPAddress? ip = null, string network = "test-chain")
    {
        var key = NodeKey.Generate();
        var t = kind.Create(key, options ?? new TransportOptions { AllowDuplicateIp = true }, ip);
        t.LocalNodeInfo = InfoFor(key, network);
        await t.ListenAsync(kind.ListenEndpoint);
        return (t, key);
    }

    private static ITransport Dialer(TransportKind kind, out NodeKey key, string network = "test-chain", IPAddress? ip = null,
        TransportOptions? options = null)
    {
        key = NodeKey.Generate();
        var t = kind.Create(key, options ?? new TransportOptions { AllowDuplicateIp = true }, ip);
        t.LocalNodeInfo = InfoFor(key, network);
        return t;
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DialAndAcceptUpgradeBothSides(TransportKind kind)
    {
        var (server, serverKey) = await ListeningAsync(kind);
        await using var _ = server;
        await using var client = Dialer(kind, out var clientKey);
        var accept = server.AcceptAsync().AsTask();
        await using var outbound = await client.DialAsync(server.ListenAddress!);
        await using var inbound = await Eventually.WithinAsync(accept, "accept");

        Assert.True(outbound.IsOutbound);
        Assert.False(inbound.IsOutbound);
        Assert.Equal(serverKey.Id, outbound.NodeInfo.Id);
        Assert.Equal(clientKey.Id, inbound.NodeInfo.Id);
        Assert.Equal(clientKey.Id, inbound.SocketAddress.Id);

        var payload = new byte[5000];
        Random.Shared.NextBytes(payload);
        await outbound.Stream.WriteAsync(payload);
        await outbound.Stream.FlushAsync();
        var got = new byte[payload.Length];
        await inbound.Stream.ReadExactlyAsync(got).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(payload, got);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DialingTheWrongIdIsAnAuthFailure(TransportKind kind)
    {
        var (server, _) = await ListeningAsync(kind);
        await using var _s = server;
        await using var client = Dialer(kind, out _);
        var wrong = server.ListenAddress! with { Id = NodeKey.Generate().Id };
        var ex = await Assert.ThrowsAsync<PeerRejectedException>(() => client.DialAsync(wrong).AsTask());
        Assert.Equal(RejectReason.AuthFailure, ex.Reason);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DifferentNetworkIsIncompatible(TransportKind kind)
    {
        var (server, _) = await ListeningAsync(kind, network: "chain-a");
        await using var _s = server;
        await using var client = Dialer(kind, out _, network: "chain-b");
        var ex = await Assert.ThrowsAsync<PeerRejectedException>(() => client.DialAsync(server.ListenAddress!).AsTask());
        Assert.Equal(RejectReason.Incompatible, ex.Reason);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DialingOurselvesIsRejectedAsSelf(TransportKind kind)
    {
        var (server, _) = await ListeningAsync(kind);
        await using var _s = server;
        var ex = await Assert.ThrowsAsync<PeerRejectedException>(() => server.DialAsync(server.ListenAddress!).AsTask());
        Assert.Equal(RejectReason.Self, ex.Reason);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task CallerFilterRefusesAConnection(TransportKind kind)
    {
        var refused = 0;
        var options = new TransportOptions
        {
            AllowDuplicateIp = true,
            Filters = [(remote, _) => { Interlocked.Increment(ref refused); return ValueTask.FromResult<string?>($"no thanks {remote}"); }],
        };
        await using var client = Dialer(kind, out _, options: options);
        var (server, _) = await ListeningAsync(kind);
        await using var _s = server;
        var ex = await Assert.ThrowsAsync<PeerRejectedException>(() => client.DialAsync(server.ListenAddress!).AsTask());
        Assert.Equal(RejectReason.Filtered, ex.Reason);
        Assert.Equal(1, refused);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task DuplicateIpFilterRefusesASecondConnectionFromOneIp(TransportKind kind)
    {
        var (server, _) = await ListeningAsync(kind, new TransportOptions { AllowDuplicateIp = false });
        await using var _s = server;
        var sharedIp = IPAddress.Parse("100.70.1.1");
        await using var first = Dialer(kind, out _, ip: sharedIp);
        await using var second = Dialer(kind, out _, ip: sharedIp);
        await using var c1 = await first.DialAsync(server.ListenAddress!);
        await using var a1 = await Eventually.WithinAsync(server.AcceptAsync().AsTask(), "first accept");
        // The server closes the second connection before its handshake: the dialer sees the connection end.
        await Assert.ThrowsAnyAsync<Exception>(() => second.DialAsync(server.ListenAddress!).AsTask());
        var pending = server.AcceptAsync().AsTask();
        Assert.False(pending.IsCompleted);
    }

    [Theory]
    [MemberData(nameof(TransportKind.All), MemberType = typeof(TransportKind))]
    public async Task AcceptLimitHoldsExtraConnectionsUntilASlotFrees(TransportKind kind)
    {
        var (server, _) = await ListeningAsync(kind, new TransportOptions { AllowDuplicateIp = true, MaxIncomingConnections = 1 });
        await using var _s = server;
        await using var first = Dialer(kind, out _);
        var c1 = await first.DialAsync(server.ListenAddress!);
        var a1 = await Eventually.WithinAsync(server.AcceptAsync().AsTask(), "first accept");

        await using var second = Dialer(kind, out _);
        var dial2 = second.DialAsync(server.ListenAddress!).AsTask();
        var accept2 = server.AcceptAsync().AsTask();
        // Nothing can complete while the only slot is taken; the second handshake is not even started.
        await Assert.ThrowsAsync<TimeoutException>(() => accept2.WaitAsync(TimeSpan.FromMilliseconds(300)));
        Assert.False(dial2.IsCompleted);

        await a1.DisposeAsync();
        await c1.DisposeAsync();
        await using var a2 = await Eventually.WithinAsync(accept2, "second accept after the slot freed");
        await using var c2 = await Eventually.WithinAsync(dial2, "second dial");
    }

    [Fact]
    public async Task SilentPeerIsDroppedAtTheHandshakeTimeout()
    {
        var kind = new TcpKind();
        var (server, _) = await ListeningAsync(kind, new TransportOptions
        {
            AllowDuplicateIp = true,
            HandshakeTimeout = TimeSpan.FromMilliseconds(200),
        });
        await using var _s = server;
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.ListenAddress!.Port));
        // We send nothing (slow-loris). The server sends its 35-byte ephemeral key, then gives up and closes.
        var buf = new byte[64];
        var total = 0;
        while (true)
        {
            var n = await raw.ReceiveAsync(buf).WaitAsync(TimeSpan.FromSeconds(10));
            if (n == 0) break;
            total += n;
        }
        Assert.Equal(35, total);
    }

    [Fact]
    public async Task DialToANonListeningPortFailsCleanly()
    {
        var kind = new TcpKind();
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var client = Dialer(kind, out _);
        var target = new NetAddress(NodeKey.Generate().Id, IPAddress.Loopback, (ushort)port);
        await Assert.ThrowsAnyAsync<Exception>(() => client.DialAsync(target).AsTask());
    }
}
