using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchboard.Nat;

namespace Switchboard.Tests.Nat;

/// <summary>
/// Brings the real miniupnpd gateway up with <c>TestData/upnp/igd.sh up</c> (parsing its KEY=VALUE output) and ALWAYS
/// runs <c>igd.sh down</c> afterwards: on dispose, when <c>up</c> fails, and at process exit as a last resort. The
/// namespaces are named after this process (<c>sbt&lt;pid&gt;-lan</c> ...), so another test run on the machine has
/// its own. Does nothing when <see cref="GatewayPrecondition.SkipReason"/> says the tests cannot run (they are skipped).
/// </summary>
public abstract class IgdFixture : IDisposable
{
    private readonly string? _script;
    private readonly Dictionary<string, string> _name = new() { ["IGD_NAME"] = $"sbt{Environment.ProcessId}" };
    private int _disposed;

    protected IgdFixture(IDictionary<string, string> settings)
    {
        if (GatewayPrecondition.SkipReason is not null) return;
        _script = Path.Combine(GatewayPrecondition.UpnpDirectory, "igd.sh");
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        var sw = Stopwatch.StartNew();
        try
        {
            var (code, stdout, stderr) = Shell.Run("bash", [_script, "up"], new Dictionary<string, string>(settings.Concat(_name)), timeoutMs: 180_000);
            if (code != 0) throw new InvalidOperationException($"igd.sh up failed ({code}):\n{stderr}");
            foreach (var line in stdout.Split('\n'))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) Env[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
            UpTime = sw.Elapsed;
            Lan = new NetnsThread(Env["IGD_LAN_NS"]);
            Wan = new NetnsThread(Env["IGD_WAN_NS"]);
        }
        catch
        {
            Down();
            throw;
        }
    }

    public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);

    public TimeSpan UpTime { get; }

    internal NetnsThread Lan { get; } = null!;

    internal NetnsThread Wan { get; } = null!;

    public IPAddress LanIp => IPAddress.Parse(Env["IGD_LAN_IP"]);

    public IPAddress GatewayIp => IPAddress.Parse(Env["IGD_GW_IP"]);

    public IPAddress WanIp => IPAddress.Parse(Env["IGD_WAN_IP"]);

    /// <summary>
    /// The library's network seam inside the LAN namespace. Interface enumeration is restricted to the LAN address
    /// so that nothing is ever even attempted on another interface.
    /// </summary>
    internal NatNetwork LanNetwork => Lan.Network([LanIp]);

    /// <summary>A listener in the LAN namespace on <c>IGD_LAN_IP:port</c> that answers "pong:" + what it reads, once per connection.</summary>
    public LanListener Listen(int port) => new(Lan.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), new IPEndPoint(LanIp, port));

    /// <summary>
    /// Connects from the WAN namespace (the "internet") to <c>IGD_WAN_IP:port</c> and exchanges a token. Returns
    /// true when the reply came back through the mapping, false when the connection was refused.
    /// </summary>
    public async Task<bool> ForwardsAsync(int port)
    {
        using var socket = Wan.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(WanIp, port), cts.Token);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
        var token = Encoding.ASCII.GetBytes("ping-" + port);
        await socket.SendAsync(token, SocketFlags.None, cts.Token);
        var buffer = new byte[64];
        var n = 0;
        while (n < token.Length + 5)
        {
            var r = await socket.ReceiveAsync(buffer.AsMemory(n), SocketFlags.None, cts.Token);
            if (r == 0) break;
            n += r;
        }
        Assert.Equal("pong:ping-" + port, Encoding.ASCII.GetString(buffer, 0, n));
        return true;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Down();

    private void Down()
    {
        if (_script is null || Interlocked.Exchange(ref _disposed, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        Lan?.Dispose();
        Wan?.Dispose();
        // IGD_PURGE: the logs are not needed afterwards (a failed `up` already printed their tails into the error).
        var (code, _, stderr) = Shell.Run("bash", [_script, "down"], new Dictionary<string, string>(_name) { ["IGD_PURGE"] = "1" }, timeoutMs: 60_000);
        if (code != 0) Console.Error.WriteLine($"igd.sh down failed ({code}): {stderr}");
    }

    public void Dispose()
    {
        Down();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The default gateway: IGDv2, STUN responder, forwarding works.</summary>
public sealed class IgdV2Fixture() : IgdFixture(new Dictionary<string, string>());

/// <summary>The gateway advertising IGDv1 (<c>IGD_FORCE_V1=1</c>).</summary>
public sealed class IgdV1Fixture() : IgdFixture(new Dictionary<string, string> { ["IGD_FORCE_V1"] = "1" });

/// <summary>The broken gateway (<c>IGD_STUN=0</c>): reserved WAN address without STUN, so it cannot forward.</summary>
public sealed class IgdNoStunFixture() : IgdFixture(new Dictionary<string, string> { ["IGD_STUN"] = "0" });

/// <summary>A one-shot echo listener in a namespace: each accepted connection gets "pong:" + the bytes it sent.</summary>
public sealed class LanListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    internal LanListener(Socket socket, IPEndPoint endpoint)
    {
        _socket = socket;
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(endpoint);
        _socket.Listen(4);
        _loop = AcceptLoopAsync();
    }

    public int Accepted { get; private set; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _socket.AcceptAsync(_stop.Token); }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            using (client)
            {
                Accepted++;
                var buffer = new byte[64];
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    var n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                    await client.SendAsync(Encoding.ASCII.GetBytes("pong:").Concat(buffer.Take(n)).ToArray(), SocketFlags.None, cts.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException) { }
            }
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
