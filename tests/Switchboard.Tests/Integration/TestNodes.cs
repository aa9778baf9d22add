using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

namespace Switchboard.Tests.Integration;

/// <summary>Creates transports of one kind, so every suite runs against TCP and in-memory alike.</summary>
public abstract class TransportKind
{
    public abstract string Name { get; }

    /// <summary>Where to listen: 127.0.0.1:0 for TCP, any port for memory.</summary>
    public abstract IPEndPoint ListenEndpoint { get; }

    /// <summary>Creates a transport; <paramref name="ip"/> picks the host address where the kind allows it (memory).</summary>
    public abstract ITransport Create(NodeKey key, TransportOptions options, IPAddress? ip = null);

    /// <summary>True when two transports created without an explicit IP share an IP (TCP on loopback).</summary>
    public abstract bool SharesIp { get; }

    public override string ToString() => Name;

    public static TheoryData<TransportKind> All => [new TcpKind(), new MemoryKind(), new StreamKind()];
}

public sealed class TcpKind : TransportKind
{
    public override string Name => "tcp";
    public override IPEndPoint ListenEndpoint => new(IPAddress.Loopback, 0);
    public override bool SharesIp => true;
    public override ITransport Create(NodeKey key, TransportOptions options, IPAddress? ip = null) => new TcpTransport(key, options);
}

public sealed class MemoryKind : TransportKind
{
    private readonly MemoryNetwork _network = new();
    public override string Name => "memory";
    public override IPEndPoint ListenEndpoint => new(IPAddress.Any, 0);
    public override bool SharesIp => false;
    public override ITransport Create(NodeKey key, TransportOptions options, IPAddress? ip = null) =>
        _network.CreateTransport(key, ip, options);
}

/// <summary>
/// A transport written outside the library on the public <see cref="StreamTransport"/> seam: it supplies plain
/// loopback sockets, the library does the whole upgrade. Running the compliance suite on it proves the seam
/// gives a third-party transport the same behaviour as ours.
/// </summary>
public sealed class StreamKind : TransportKind
{
    public override string Name => "stream (third-party seam)";
    public override IPEndPoint ListenEndpoint => new(IPAddress.Loopback, 0);
    public override bool SharesIp => true;
    public override ITransport Create(NodeKey key, TransportOptions options, IPAddress? ip = null) => new SocketStreamTransport(key, options);

    private sealed class SocketStreamTransport(NodeKey key, TransportOptions options) : StreamTransport(key, options)
    {
        private Socket? _listener;

        protected override ValueTask<IPEndPoint> BindAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(endpoint);
            socket.Listen(128);
            _listener = socket;
            return ValueTask.FromResult((IPEndPoint)socket.LocalEndPoint!);
        }

        protected override async ValueTask<(Stream Stream, IPEndPoint Remote)> AcceptStreamAsync(CancellationToken cancellationToken)
        {
            var socket = await _listener!.AcceptAsync(cancellationToken);
            return (new NetworkStream(socket, ownsSocket: true), (IPEndPoint)socket.RemoteEndPoint!);
        }

        protected override async ValueTask<Stream> ConnectStreamAsync(IPEndPoint remote, CancellationToken cancellationToken)
        {
            var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(remote, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        protected override ValueTask CloseListenerAsync()
        {
            _listener?.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>A reactor that records what it sees.</summary>
public sealed class RecordingReactor(string name, params ChannelDescriptor[] channels) : Reactor(name)
{
    public ConcurrentQueue<(NodeId From, byte Channel, byte[] Message)> Received { get; } = new();
    public ConcurrentQueue<NodeId> Added { get; } = new();
    public ConcurrentQueue<(NodeId Id, DisconnectReason Reason)> Removed { get; } = new();

    /// <summary>When set, ReceiveAsync awaits it before recording (a reactor that blocks).</summary>
    public TaskCompletionSource? Gate { get; set; }

    public override IReadOnlyList<ChannelDescriptor> GetChannels() => channels;

    public override ValueTask AddPeerAsync(IPeer peer, CancellationToken cancellationToken)
    {
        Added.Enqueue(peer.Id);
        return ValueTask.CompletedTask;
    }

    public override ValueTask RemovePeerAsync(IPeer peer, DisconnectReason reason, CancellationToken cancellationToken)
    {
        Removed.Enqueue((peer.Id, reason));
        return ValueTask.CompletedTask;
    }

    public override async ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        if (Gate is { } gate) await gate.Task.WaitAsync(cancellationToken);
        Received.Enqueue((envelope.Source.Id, envelope.ChannelId, envelope.Message.ToArray()));
    }
}

/// <summary>One node under test: key, transport, switch.</summary>
public sealed class TestNode : IAsyncDisposable
{
    public required NodeKey Key { get; init; }
    public required Switch Switch { get; init; }
    public NetAddress Address => Switch.ListenAddress!;
    public NodeId Id => Key.Id;

    public static async Task<TestNode> StartAsync(TransportKind kind, Func<SwitchOptions, SwitchOptions>? configure = null,
        Action<Switch>? register = null, NodeKey? key = null, TransportOptions? transport = null, IPAddress? ip = null, bool listen = true)
    {
        key ??= NodeKey.Generate();
        var options = new SwitchOptions { Network = "test-chain", AllowDuplicateIp = true, DialJitter = TimeSpan.Zero };
        if (configure is not null) options = configure(options);
        var t = kind.Create(key, transport ?? new TransportOptions { AllowDuplicateIp = options.AllowDuplicateIp }, ip);
        var sw = new Switch(t, key, options);
        register?.Invoke(sw);
        await sw.StartAsync(listen ? kind.ListenEndpoint : null);
        return new TestNode { Key = key, Switch = sw };
    }

    public async ValueTask DisposeAsync()
    {
        await Switch.DisposeAsync();
    }
}

public static class Channels
{
    public static ChannelDescriptor Make(byte id, int priority = 1, int queue = 100) =>
        new(id, priority) { SendQueueCapacity = queue };
}
