using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Switchboard.Nat;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Nat;

/// <summary>A scripted NAT-PMP gateway on 127.0.0.1: <see cref="Respond"/> decides each answer (null = drop the request).</summary>
internal sealed class FakeNatPmpGateway : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<byte[]> _requests = [];

    public FakeNatPmpGateway()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = LoopAsync();
    }

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public Func<byte[], int, byte[]?> Respond { get; set; } = (_, _) => null;

    public byte[][] Requests { get { lock (_requests) return [.. _requests]; } }

    public NatNetwork Network => new()
    {
        NatPmpPort = Port,
        DefaultGatewayResolver = () => IPAddress.Loopback,
        InterfaceAddresses = () => [],
    };

    public static byte[] ExternalAddress(uint epoch, string address, ushort result = 0)
    {
        var b = new byte[12];
        b[1] = 128;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), result);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), epoch);
        IPAddress.Parse(address).TryWriteBytes(b.AsSpan(8), out _);
        return b;
    }

    public static byte[] Mapped(byte[] request, uint epoch, ushort externalPort, uint lifetime, ushort result = 0)
    {
        var b = new byte[16];
        b[1] = (byte)(128 + request[1]);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), result);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), epoch);
        request.AsSpan(4, 2).CopyTo(b.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(10), externalPort);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(12), lifetime);
        return b;
    }

    private async Task LoopAsync()
    {
        var buffer = new byte[64];
        while (true)
        {
            SocketReceiveFromResult r;
            try { r = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            var request = buffer[..r.ReceivedBytes];
            // Only well-formed NAT-PMP requests are scripted: a stray datagram (e.g. a late retransmission from a
            // finished test whose port the OS reused for this gateway) is ignored, as a real gateway would.
            if (request.Length < 2 || request[0] != 0 || (request[1] != 0 && request.Length < 12)) continue;
            int index;
            lock (_requests) { _requests.Add(request); index = _requests.Count; }
            if (Respond(request, index) is { } reply) await _socket.SendToAsync(reply, r.RemoteEndPoint);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>NAT-PMP client and PortMapper behaviour against a scripted gateway on loopback (no root needed).</summary>
public class NatLoopbackTests
{
    [Fact]
    public async Task NatPmp_RetransmitsUntilAnswered()
    {
        await using var gw = new FakeNatPmpGateway();
        gw.Respond = (req, i) => i < 3 ? null : FakeNatPmpGateway.ExternalAddress(100, "1.2.3.4");
        // 200 ms doubling over 4 attempts (3 s in all): the third request is answered; on a loaded machine the
        // answer may land after the fourth went out, which is still a success of the retransmission.
        var client = new NatPmpClient(gw.Network, IPAddress.Loopback, 4, TimeSpan.FromMilliseconds(200));
        Assert.Equal(IPAddress.Parse("1.2.3.4"), await client.GetExternalAddressAsync());
        Assert.InRange(gw.Requests.Length, 3, 4);
        Assert.All(gw.Requests, r => Assert.Equal([0, 0], r));
    }

    [Fact]
    public async Task NatPmp_Silence_IsATimeoutAfterMaxAttempts()
    {
        await using var gw = new FakeNatPmpGateway();
        var client = new NatPmpClient(gw.Network, IPAddress.Loopback, 3, TimeSpan.FromMilliseconds(20));
        var ex = await Assert.ThrowsAsync<NatException>(() => client.GetExternalAddressAsync());
        Assert.Equal(NatError.Timeout, ex.Error);
        Assert.Equal(3, gw.Requests.Length);
        Assert.Contains("140 ms", ex.Message); // 20 + 40 + 80: the doubling schedule
    }

    [Fact]
    public async Task NatPmp_ClosedPort_FailsFastWithNetworkError()
    {
        int closedPort;
        using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closedPort = ((IPEndPoint)s.LocalEndPoint!).Port;
        }
        var network = new NatNetwork { NatPmpPort = closedPort };
        var client = new NatPmpClient(network, IPAddress.Loopback, 9, TimeSpan.FromMilliseconds(250));
        // Nine attempts would take 2 minutes; the ICMP port-unreachable ends it at the first one.
        var ex = await Eventually.WithinAsync(Assert.ThrowsAsync<NatException>(() => client.GetExternalAddressAsync()), "ICMP refusal", TimeSpan.FromSeconds(10));
        Assert.Equal(NatError.NetworkError, ex.Error);
    }

    [Fact]
    public async Task NatPmp_ResultCodeAndGarbage_AreTyped()
    {
        await using var gw = new FakeNatPmpGateway();
        gw.Respond = (req, i) => i == 1 ? [0, 128, 0] /* 3 bytes: shorter than any response */ : null;
        var client = new NatPmpClient(gw.Network, IPAddress.Loopback, 2, TimeSpan.FromMilliseconds(50));
        Assert.Equal(NatError.MalformedResponse, (await Assert.ThrowsAsync<NatException>(() => client.GetExternalAddressAsync())).Error);

        gw.Respond = (req, _) => FakeNatPmpGateway.Mapped(req, 5, 0, 0, result: 2);
        var refused = await Assert.ThrowsAsync<NatPmpException>(() => client.MapAsync(true, 26656, 26656, TimeSpan.FromHours(1)));
        Assert.Equal(NatPmpResultCode.NotAuthorized, refused.Result);
    }

    [Fact]
    public async Task NatPmp_EpochGoingBackwards_MeansTheGatewayRestarted()
    {
        await using var gw = new FakeNatPmpGateway();
        uint epoch = 5000;
        gw.Respond = (_, _) => FakeNatPmpGateway.ExternalAddress(epoch, "1.2.3.4");
        var client = new NatPmpClient(gw.Network, IPAddress.Loopback, 2, TimeSpan.FromMilliseconds(250));
        await client.GetExternalAddressAsync();
        Assert.False(client.GatewayRestarted);
        epoch = 5001;
        await client.GetExternalAddressAsync();
        Assert.False(client.GatewayRestarted);
        epoch = 3;
        await client.GetExternalAddressAsync();
        Assert.True(client.GatewayRestarted);
    }

    [Fact]
    public async Task PortMapper_RenewsAtHalfLease_ReportsFailuresAndChanges_AndUnmapsOnDispose()
    {
        await using var gw = new FakeNatPmpGateway();
        ushort externalPort = 40000;
        var fail = false;
        gw.Respond = (req, _) => req[1] == 0
            ? FakeNatPmpGateway.ExternalAddress(1, "1.2.3.4")
            : FakeNatPmpGateway.Mapped(req, 1, fail ? (ushort)0 : externalPort, fail ? 0u : 600u, result: fail ? (ushort)3 : (ushort)0);
        var time = new ManualTimeProvider();
        var events = new List<PortMappingChangedEventArgs>();
        var mapper = await PortMapper.StartAsync(26656, new PortMapperOptions
        {
            Protocols = [NatProtocol.NatPmp],
            Lease = TimeSpan.FromHours(1),
            TimeProvider = time,
            Network = gw.Network,
        });
        mapper.MappingChanged += (_, e) => { lock (events) events.Add(e); };
        mapper.MappingChanged += (_, _) => throw new InvalidOperationException("a broken subscriber must not stop renewals");
        Assert.Equal(new IPEndPoint(IPAddress.Parse("1.2.3.4"), 40000), mapper.ExternalEndpoint);
        Assert.True(mapper.ExternalAddressIsPublic);
        // The gateway granted 600 s, not the 3600 asked for: the lease and the renewal follow the grant.
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(600), mapper.LeaseExpiresAt);
        // Found by opcode: on a loaded machine the 2-byte external-address request may have been retransmitted.
        var map = gw.Requests.First(r => r.Length >= 12 && r[1] == 2);
        Assert.Equal((2, 26656, 26656, 3600u), (map[1], BinaryPrimitives.ReadUInt16BigEndian(map.AsSpan(4)),
            BinaryPrimitives.ReadUInt16BigEndian(map.AsSpan(6)), BinaryPrimitives.ReadUInt32BigEndian(map.AsSpan(8))));

        time.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(0, mapper.Renewals);
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => mapper.Renewals == 1, "renewal at 300 s");

        fail = true;
        time.Advance(TimeSpan.FromSeconds(300));
        await Eventually.TrueAsync(() => { lock (events) return events.Count == 2; }, "failed renewal reported");
        Assert.Equal(NatPmpResultCode.NetworkFailure, Assert.IsType<NatPmpException>(mapper.LastError).Result);

        fail = false;
        externalPort = 40001;
        time.Advance(TimeSpan.FromSeconds(30)); // RenewRetryInterval
        await Eventually.TrueAsync(() => mapper.Renewals == 2, "renewal retried after 30 s");
        lock (events)
            Assert.Equal([PortMappingEvent.Renewed, PortMappingEvent.RenewalFailed, PortMappingEvent.ExternalEndpointChanged], events.Select(e => e.Kind));
        Assert.Equal(40001, mapper.ExternalEndpoint.Port);
        Assert.Null(mapper.LastError);

        var before = gw.Requests.Length;
        await mapper.DisposeAsync();
        var sent = gw.Requests;
        var unmap = sent[before];
        Assert.Equal((2, 26656, 0, 0u), (unmap[1], BinaryPrimitives.ReadUInt16BigEndian(unmap.AsSpan(4)),
            BinaryPrimitives.ReadUInt16BigEndian(unmap.AsSpan(6)), BinaryPrimitives.ReadUInt32BigEndian(unmap.AsSpan(8))));
        Assert.All(sent[before..], r => Assert.Equal(unmap, r)); // only the unmap (and, under load, its retransmissions)
        Assert.Equal(0, time.ActiveTimers);
        await mapper.DisposeAsync(); // idempotent: sends nothing more
        Assert.Equal(sent.Length, gw.Requests.Length);
    }

    [Fact]
    public async Task PortMapper_PrivateExternalAddress_IsRefusedByDefault_AndAllowedByOption()
    {
        await using var gw = new FakeNatPmpGateway();
        gw.Respond = (req, _) => req[1] == 0 ? FakeNatPmpGateway.ExternalAddress(1, "100.64.1.2") : FakeNatPmpGateway.Mapped(req, 1, 26656, 60);
        var options = new PortMapperOptions { Protocols = [NatProtocol.NatPmp], Network = gw.Network };
        var ex = await Assert.ThrowsAsync<NatException>(() => PortMapper.StartAsync(26656, options));
        Assert.Equal(NatError.GatewayBehindNat, ex.Error);
        await using var mapper = await PortMapper.StartAsync(26656, options with { AllowNonPublicExternalAddress = true });
        Assert.False(mapper.ExternalAddressIsPublic);
        Assert.Equal("100.64.1.2:26656", mapper.ExternalEndpoint.ToString());
    }
}
