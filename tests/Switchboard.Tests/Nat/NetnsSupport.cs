using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Switchboard.Nat;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Nat;

/// <summary>
/// A dedicated thread that has called setns(2) into a network namespace. A socket belongs to the namespace of the
/// thread that created it (socket(2) uses current->nsproxy->net_ns), and keeps it whatever thread later uses it, so
/// creating sockets here through <see cref="NatNetwork.SocketFactory"/> runs the library's real code, async I/O
/// included, inside the namespace while the test process stays in the host namespace.
/// </summary>
internal sealed partial class NetnsThread : IDisposable
{
    // CLONE_NEWNET from <linux/sched.h>: the nstype argument that makes setns check the fd is a network namespace.
    private const int CloneNewNet = 0x40000000;
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    public NetnsThread(string name)
    {
        Name = name;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{name}", FileMode.Open, FileAccess.Read);
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns({name})");
                ready.SetResult();
            }
            catch (Exception ex)
            {
                ready.SetException(ex);
                return;
            }
            foreach (var action in _work.GetConsumingEnumerable()) action();
        }) { IsBackground = true, Name = "netns " + name };
        _thread.Start();
        ready.Task.GetAwaiter().GetResult();
    }

    public string Name { get; }

    public T Invoke<T>(Func<T> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { tcs.SetResult(func()); }
            catch (Exception ex) { tcs.SetException(ex); }
        });
        return tcs.Task.GetAwaiter().GetResult();
    }

    public Socket CreateSocket(AddressFamily family, SocketType type, ProtocolType protocol) => Invoke(() => new Socket(family, type, protocol));

    /// <summary>The library's network seam with every socket, the route table and the interface list taken from this namespace.</summary>
    public NatNetwork Network(IReadOnlyList<IPAddress>? interfaceAddresses = null) => new()
    {
        SocketFactory = CreateSocket,
        // /proc/net is the main thread's namespace; /proc/thread-self/net is this thread's.
        DefaultGatewayResolver = () => Invoke(() => DefaultGateway.Read("/proc/thread-self/net/route")),
        InterfaceAddresses = () => interfaceAddresses ?? Invoke(NatNetwork.EnumerateInterfaceAddresses),
    };

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }
}

/// <summary>Runs a host command with a deadline and returns its exit code and output.</summary>
internal static class Shell
{
    public static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeoutMs} ms");
        }
        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    public static void Ip(params string[] args)
    {
        var (code, _, err) = Run("ip", args, timeoutMs: 10_000);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed: {err}");
    }
}

/// <summary>Whether the real-gateway tests can run here, and why not.</summary>
internal static partial class GatewayPrecondition
{
    [LibraryImport("libc")]
    private static partial uint geteuid();

    /// <summary>
    /// Null when the gateway tests can run, else the reason they are skipped. Only the machine can be a reason (root,
    /// Linux, iproute2): the gateway script is part of the repository, and a missing one makes the fixture fail.
    /// </summary>
    public static string? SkipReason => s_netns.Value;

    /// <summary>Null when namespaces can be used (root + ip netns), for tests that build their own namespace.</summary>
    public static string? NetnsSkipReason => s_netns.Value;

    private static readonly Lazy<string?> s_netns = new(CheckNetns);

    private static readonly Lazy<string> s_dir = new(() => TestData.Folder("upnp", EnvironmentVariable, "igd.sh"));

    /// <summary>Overrides the folder of the gateway script and the captured files.</summary>
    public const string EnvironmentVariable = "SWITCHBOARD_UPNP";

    /// <summary>
    /// The gateway script <c>igd.sh</c> and the captured files: <c>tests/Switchboard.Tests/TestData/upnp</c>, copied
    /// to the test output, or <c>$SWITCHBOARD_UPNP</c>.
    /// </summary>
    public static string UpnpDirectory => s_dir.Value;

    /// <summary>A captured file from the upnp test data.</summary>
    public static byte[] ReadUpnpFile(string name) => File.ReadAllBytes(Path.Combine(UpnpDirectory, name));

    private static string? CheckNetns()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        try
        {
            if (geteuid() != 0) return "needs root (network namespaces, setns)";
            var (code, _, err) = Shell.Run("ip", ["netns", "list"], timeoutMs: 5000);
            return code == 0 ? null : "'ip netns' does not work: " + err.Trim();
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or TimeoutException or DllNotFoundException)
        {
            return "'ip' (iproute2) is not available: " + ex.Message;
        }
    }
}

/// <summary>A fact that needs the real miniupnpd gateway; it is reported as skipped (with the reason) when it cannot run.</summary>
public sealed class GatewayFactAttribute : FactAttribute
{
    public GatewayFactAttribute()
    {
        if (GatewayPrecondition.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>A fact that needs root and network namespaces (but not the IGD scripts); skipped with the reason otherwise.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (GatewayPrecondition.NetnsSkipReason is { } reason) Skip = reason;
    }
}

/// <summary>All namespace tests share one collection: there is one gateway and fixed namespace names, so they never run in parallel.</summary>
[CollectionDefinition(Name)]
public sealed class GatewayCollection
{
    public const string Name = "miniupnpd gateway";
}
