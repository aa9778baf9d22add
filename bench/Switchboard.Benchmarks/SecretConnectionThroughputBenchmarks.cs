using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Switchboard.Conn;
using Switchboard.Crypto;

namespace Switchboard.Benchmarks;

/// <summary>
/// One 64 KiB write carried across loopback TCP and read back on the other end: through a SecretConnection
/// pair versus the bare sockets in the same run, so the ratio is the cost of the encrypted record layer.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class SecretConnectionThroughputBenchmarks
{
    private const int Size = 64 * 1024;

    private readonly byte[] _payload = new byte[Size];
    private readonly byte[] _received = new byte[Size];
    private NetworkStream _rawA = null!;
    private NetworkStream _rawB = null!;
    private SecretConnection _secretA = null!;
    private SecretConnection _secretB = null!;
    private NodeKey _keyA = null!;
    private NodeKey _keyB = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        new Random(7).NextBytes(_payload);
        (_rawA, _rawB) = await PairAsync();
        var (a, b) = await PairAsync();
        _keyA = NodeKey.Generate();
        _keyB = NodeKey.Generate();
        var handshakeA = SecretConnection.HandshakeAsync(a, _keyA);
        _secretB = await SecretConnection.HandshakeAsync(b, _keyB);
        _secretA = await handshakeA;
        if (_secretA.RemoteId != _keyB.Id)
            throw new InvalidOperationException("handshake authenticated the wrong peer");

        // Check both paths deliver the payload intact.
        foreach (var run in new Func<Task>[] { Raw64KiB, Secret64KiB })
        {
            Array.Clear(_received);
            await run();
            if (!_received.AsSpan().SequenceEqual(_payload))
                throw new InvalidOperationException("payload corrupted");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _secretA.Dispose();
        _secretB.Dispose();
        _rawA.Dispose();
        _rawB.Dispose();
        _keyA.Dispose();
        _keyB.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task Raw64KiB() => TransferAsync(_rawA, _rawB);

    [Benchmark]
    public Task Secret64KiB() => TransferAsync(_secretA, _secretB);

    private async Task TransferAsync(Stream from, Stream to)
    {
        var reading = to.ReadExactlyAsync(_received);
        await from.WriteAsync(_payload);
        await reading;
    }

    private static async Task<(NetworkStream, NetworkStream)> PairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var server = await accept;
        server.NoDelay = true;
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }
}
