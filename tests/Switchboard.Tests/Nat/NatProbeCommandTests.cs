using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.Nat;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Nat;

/// <summary>
/// `switchboard nat probe` as a user runs it: the real CLI in a child process under `ip netns exec`, so its
/// SSDP multicast and NAT-PMP traffic stays inside namespaces this test owns.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class NatProbeCommandTests(IgdV2Fixture igd, ITestOutputHelper output) : IClassFixture<IgdV2Fixture>
{
    private static (int Code, string Stdout, string Stderr, TimeSpan Elapsed) RunCli(string netns, params string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "Switchboard.Cli.dll");
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var sw = Stopwatch.StartNew();
        var (code, stdout, stderr) = Shell.Run("ip", ["netns", "exec", netns, dotnet, cli, .. args], timeoutMs: 60_000);
        return (code, stdout, stderr, sw.Elapsed);
    }

    [GatewayFact]
    public void InsideTheLanItReportsTheGatewayTheExternalAddressAndAWorkingMapping()
    {
        var (code, stdout, stderr, elapsed) = RunCli(igd.Env["IGD_LAN_NS"], "nat", "probe");
        output.WriteLine($"exit {code} after {elapsed.TotalMilliseconds:0} ms\n{stdout}\n{stderr}");
        Assert.Equal(0, code);
        Assert.Contains(igd.Env["IGD_ROOTDESC_URL"], stdout);
        Assert.Contains("203.0.113.1", stdout);
        Assert.Contains("WANIPConnection", stdout);
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"nat probe took {elapsed}");
    }

    [GatewayFact]
    public void ElsewhereItSaysNoGatewayFoundWithinSeconds()
    {
        var ns = $"sb-nogw-{Environment.ProcessId}";
        Shell.Ip("netns", "add", ns);
        try
        {
            Shell.Ip("-n", ns, "link", "set", "lo", "up");
            var (code, stdout, stderr, elapsed) = RunCli(ns, "nat", "probe", "--json");
            output.WriteLine($"exit {code} after {elapsed.TotalMilliseconds:0} ms\n{stdout}\n{stderr}");
            Assert.Equal(1, code);
            Assert.Contains("no gateway found", stdout + stderr);
            Assert.True(elapsed < TimeSpan.FromSeconds(30), $"nat probe took {elapsed}");
        }
        finally
        {
            Shell.Run("ip", ["netns", "delete", ns], timeoutMs: 10_000);
        }
    }

    [GatewayFact]
    public async Task StartWithNatMapsTheListenPortAdvertisesTheExternalAddressAndUnmapsOnShutdown()
    {
        var home = Directory.CreateTempSubdirectory("switchboard-nat-").FullName;
        var port = 32000 + Environment.ProcessId % 1000;
        Process? node = null;
        try
        {
            Assert.Equal(0, RunCli(igd.Env["IGD_LAN_NS"], "init", "--home", home).Code);
            var id = RunCli(igd.Env["IGD_LAN_NS"], "show-node-id", "--home", home).Stdout.Trim();

            // The node runs in the LAN namespace; `ip netns exec` execs dotnet, so the pid is the node's.
            var cli = Path.Combine(AppContext.BaseDirectory, "Switchboard.Cli.dll");
            var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "netns", "exec", igd.Env["IGD_LAN_NS"], "dotnet", cli, "start", "--home", home,
                         "--laddr", $"tcp://0.0.0.0:{port}", "--nat", "--nat-allow-private", "--echo", "0x77", "--chain-id", "nat-test" })
                psi.ArgumentList.Add(a);
            node = Process.Start(psi)!;
            var log = new ConcurrentQueue<string>();
            node.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            node.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            node.BeginErrorReadLine();
            node.BeginOutputReadLine();
            await Eventually.TrueAsync(() => log.Any(l => l.Contains($"203.0.113.1:{port}")) || node.HasExited,
                "the node maps its port and logs the external endpoint", TimeSpan.FromSeconds(30));
            output.WriteLine(string.Join("\n", log));
            Assert.False(node.HasExited);

            // From the internet side, through the mapping: the handshake completes and the node advertises the
            // gateway's external address as its listen_addr.
            var probe = RunCli(igd.Env["IGD_WAN_NS"], "probe", $"{id}@203.0.113.1:{port}", "--chain-id", "nat-test");
            output.WriteLine(probe.Stdout + probe.Stderr);
            Assert.Equal(0, probe.Code);
            Assert.Contains($"listen_addr  203.0.113.1:{port}", probe.Stdout);

            Shell.Run("kill", ["-TERM", node.Id.ToString()]);
            Assert.True(node.WaitForExit(30_000), "the node stops on SIGTERM");
            Assert.Equal(0, node.ExitCode);
            var client = new UpnpIgdClient(igd.LanNetwork,
                new IgdService(igd.Env["IGD_SERVICE_TYPE"], null, new Uri(igd.Env["IGD_CONTROL_URL"]), null), TimeSpan.FromSeconds(3));
            var gone = await Assert.ThrowsAsync<UpnpException>(() => client.GetSpecificPortMappingEntryAsync(port, "TCP"));
            Assert.Equal(714, gone.Code);
        }
        finally
        {
            if (node is { HasExited: false }) node.Kill();
            node?.Dispose();
            Directory.Delete(home, recursive: true);
        }
    }
}
