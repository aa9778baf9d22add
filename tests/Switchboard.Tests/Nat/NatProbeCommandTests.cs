using System.Diagnostics;
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
}
