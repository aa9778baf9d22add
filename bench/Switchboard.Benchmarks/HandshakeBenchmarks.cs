using System.Net;
using BenchmarkDotNet.Attributes;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Benchmarks;

/// <summary>
/// Complete connection upgrades between two in-memory transports of this process: dial, SecretConnection (X25519,
/// Merlin, Ed25519 sign + verify on both sides), NodeInfo exchange and the peer checks, then close. One operation
/// is one complete handshake (both sides' work); <see cref="Concurrent4"/> keeps four in flight, as a node accepting
/// a burst does, so on 2 cores its time per operation is the inverse of the handshake rate. <see cref="Transcript"/>
/// is the Merlin/STROBE/Keccak part alone (one side's transcript, with a fixed DH secret).
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class HandshakeBenchmarks
{
    private const int InFlight = 4;

    private NodeKey _serverKey = null!;
    private NodeKey _clientKey = null!;
    private MemoryTransport _server = null!;
    // One client transport per handshake in flight: a transport holds one connection per remote address.
    private readonly MemoryTransport[] _clients = new MemoryTransport[InFlight];
    private NetAddress _address = null!;
    private readonly byte[] _lo = new byte[32];
    private readonly byte[] _hi = new byte[32];
    private readonly byte[] _dh = new byte[32];
    private readonly byte[] _challenge = new byte[32];

    [GlobalSetup]
    public async Task Setup()
    {
        _serverKey = NodeKey.Generate();
        _clientKey = NodeKey.Generate();
        var network = new MemoryNetwork();
        var options = new TransportOptions { AllowDuplicateIp = true, MaxIncomingConnections = 64 };
        _server = network.CreateTransport(_serverKey, options: options);
        for (var i = 0; i < InFlight; i++)
        {
            _clients[i] = network.CreateTransport(_clientKey, options: options);
            _clients[i].LocalNodeInfo = Info(_clientKey.Id, "0.0.0.0:0");
        }
        _address = await _server.ListenAsync(new IPEndPoint(IPAddress.Any, 0));
        _server.LocalNodeInfo = Info(_serverKey.Id, _address.DialString);
        await Handshake();
        new Random(3).NextBytes(_lo);
        new Random(4).NextBytes(_hi);
        new Random(5).NextBytes(_dh);
    }

    private static NodeInfo Info(NodeId id, string listenAddr) => new()
    {
        Id = id, ListenAddr = listenAddr, Network = "bench", Version = "bench", Channels = new byte[] { 0x77 }, Moniker = "bench", TxIndex = "off",
    };

    [GlobalCleanup]
    public async Task Cleanup()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        await _server.DisposeAsync();
        _serverKey.Dispose();
        _clientKey.Dispose();
    }

    /// <summary>One handshake at a time: the latency of an upgrade.</summary>
    [Benchmark(Baseline = true)]
    public Task Handshake() => HandshakeWith(_clients[0]);

    private async Task HandshakeWith(MemoryTransport client)
    {
        var accept = _server.AcceptAsync().AsTask();
        await using var dialed = await client.DialAsync(_address);
        await using var accepted = await accept;
        if (accepted.NodeInfo.Id != _clientKey.Id || dialed.NodeInfo.Id != _serverKey.Id)
            throw new InvalidOperationException("the handshake authenticated the wrong node");
    }

    /// <summary>Four handshakes in flight; the time per operation is one handshake's share.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public Task Concurrent4()
    {
        var all = new Task[InFlight];
        for (var i = 0; i < InFlight; i++)
        {
            var client = _clients[i];
            all[i] = Task.Run(() => HandshakeWith(client));
        }
        return Task.WhenAll(all);
    }

    /// <summary>The Merlin transcript of one side: two key appends, the DH secret, the 32-byte challenge.</summary>
    [Benchmark]
    public byte[] Transcript()
    {
        using var transcript = new MerlinTranscript("TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH"u8);
        transcript.AppendMessage("EPHEMERAL_LOWER_PUBLIC_KEY"u8, _lo);
        transcript.AppendMessage("EPHEMERAL_UPPER_PUBLIC_KEY"u8, _hi);
        transcript.AppendMessage("DH_SECRET"u8, _dh);
        transcript.ChallengeBytes("SECRET_CONNECTION_MAC"u8, _challenge);
        return _challenge;
    }
}
