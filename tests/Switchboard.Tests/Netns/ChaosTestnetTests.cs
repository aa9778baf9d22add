using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Switchboard.Cli.Hosting.Netns;
using Switchboard.Tests.Nat;
using Switchboard.Tests.Support;
using Xunit.Abstractions;
using ChaosNetns = Switchboard.Cli.Hosting.Netns.Netns;

namespace Switchboard.Tests.Netns;

/// <summary>
/// A fact that needs root, network namespaces and TUN devices (the NAT tests' precondition plus the chaos testnet's
/// own check); reported as skipped with the reason otherwise, never failed.
/// </summary>
public sealed class ChaosFactAttribute : FactAttribute
{
    public ChaosFactAttribute()
    {
        if ((GatewayPrecondition.NetnsSkipReason ?? ChaosNetns.Unavailable()) is { } reason) Skip = reason;
    }

    /// <summary>The test also drops root with util-linux's setpriv.</summary>
    public bool NeedsSetpriv
    {
        get => false;
        set
        {
            if (value && Skip is null && !File.Exists("/usr/bin/setpriv")) Skip = "/usr/bin/setpriv (util-linux) is missing: it is how the test drops root";
        }
    }
}

/// <summary>
/// The chaos testnets run alone, after the parallel tests: a minute of eight node processes and the packet
/// forwarding takes much of two cores, and the tests with tight timeouts (NAT-PMP's 50 ms retries) must not share them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosCollection
{
    public const string Name = "chaos testnet";
}

/// <summary>
/// The chaos testnet for real: separate node processes in network namespaces behind the user-space bridge, with
/// netem-style links and scripted faults. The one-minute scenario is issue 11's verdict test. The namespace
/// names carry this process's id and a run counter, so these tests may run beside each other and beside another test
/// run on the machine.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed partial class ChaosTestnetTests(ITestOutputHelper output)
{
    [LibraryImport("libc")]
    private static partial int kill(int pid, int sig);

    /// <summary>dotnet and the CLI's entry assembly: next to the tests when its runtimeconfig was copied, else its own build output.</summary>
    private static (string File, IReadOnlyList<string> Args) CliCommand()
    {
        var here = typeof(NetnsTestnet).Assembly.Location;
        if (File.Exists(Path.ChangeExtension(here, ".runtimeconfig.json"))) return (RepoPaths.Dotnet, [here]);
        var built = Path.Combine(RepoPaths.Root, "src", "Switchboard.Cli", "bin", RepoPaths.Configuration, "net10.0", "Switchboard.Cli.dll");
        Assert.True(File.Exists(built), $"{built} was not built");
        return (RepoPaths.Dotnet, [built]);
    }

    [ChaosFact]
    public async Task OneMinuteSoak_NoCorruptionNoReorderingAndEveryNodeReconnectsAfterEveryHeal()
    {
        var scenario = Scenario.Load(Path.Combine(RepoPaths.Root, "scenarios", "ci-8x60s.toml"));
        var root = Directory.CreateTempSubdirectory("switchboard-chaos-test-").FullName;
        var progress = new StringWriter();
        ChaosReport report;
        IReadOnlyList<string> namespaces;
        try
        {
            await using (var net = await NetnsTestnet.StartAsync(new NetnsTestnetOptions { Scenario = scenario, Root = root, Self = CliCommand() },
                             TextWriter.Synchronized(progress), CancellationToken.None))
            {
                namespaces = [.. net.Namespaces];
                Assert.Equal(scenario.Nodes, namespaces.Count);
                // The run has its own deadline (formation, faults, the reconnect timeouts, drain): this one only guards the test run.
                report = await Eventually.WithinAsync(net.RunAsync(CancellationToken.None), "the one-minute scenario", TimeSpan.FromMinutes(6));
            }
        }
        finally
        {
            output.WriteLine(progress.ToString());
            Directory.Delete(root, recursive: true);
        }
        foreach (var line in Switchboard.Cli.Commands.NetnsTestnetCommand.Describe(report)) output.WriteLine(line);

        Assert.True(report.FormedAfterSeconds is not null, report.Status);
        Assert.Equal(0, report.Totals.Corrupted);
        Assert.Equal(0, report.Totals.ReorderedWithinChannel);
        // Two heals, the return after kill -9, the clean restart: each measured, each within the reconnect timeout.
        Assert.Equal(4, report.Recoveries.Count);
        Assert.All(report.Recoveries, r => Assert.True(r.Ok, $"{r.Label}: missing {string.Join(", ", r.Pending)}"));
        Assert.All(report.Nodes, n => Assert.True(n.RunningAtEnd && n.Peers.Count > 0, $"{n.Name}: running {n.RunningAtEnd}, peers {n.Peers.Count}"));
        // node-3 (kill -9) and node-6 (restart) each came back as a second process.
        Assert.Equal(["node-3", "node-6"], report.Nodes.Where(n => n.Processes == 2).Select(n => n.Name));
        Assert.All(report.Nodes.Where(n => n.Name is not ("node-3" or "node-6")), n => Assert.Equal(1, n.Processes));
        Assert.True(report.Totals.Published > 0 && report.Totals.Delivered > 0, report.Status);
        Assert.True(report.Links.Lost > 0, "1 % loss dropped packets");
        Assert.True(report.Links.Cut > 0, "the faults dropped packets");
        Assert.True(report.Ok, report.Status);
        // Everything the run made is gone.
        var left = ChaosNetns.List();
        Assert.DoesNotContain(left, namespaces.Contains);
    }

    [ChaosFact]
    public async Task Sigterm_TearsDownTheNamespacesAndTheNodes()
    {
        var (file, args) = CliCommand();
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[.. args, "testnet", "--netns", "--nodes", "3", "--duration", "5m"]) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var formed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var text = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (text) text.AppendLine(e.Data);
            if (e.Data.Contains("formed after", StringComparison.Ordinal)) formed.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (text) text.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Eventually.WithinAsync(formed.Task, "the 3-node chaos testnet formed", TimeSpan.FromMinutes(2));
            var ours = ChaosNetns.List().Where(n => n.StartsWith($"sbc{process.Id}r", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, ours.Count);
            Assert.Equal(0, kill(process.Id, 15));
            await Eventually.WithinAsync(process.WaitForExitAsync(), "exit after SIGTERM", TimeSpan.FromSeconds(60));
            Assert.DoesNotContain(ChaosNetns.List(), ours.Contains);
            // The node processes (started with --home under the run's folder) are gone, and so is the folder.
            string home;
            lock (text) home = System.Text.RegularExpressions.Regex.Match(text.ToString(), @"homes in (\S+) \(deleted at the end\)").Groups[1].Value;
            Assert.NotEmpty(home);
            Assert.DoesNotContain(Process.GetProcesses(), p => SafeCommandLine(p).Contains("testnet-node", StringComparison.Ordinal)
                && SafeCommandLine(p).Contains(home, StringComparison.Ordinal));
            Assert.False(Directory.Exists(home), $"{home} was not removed");
            lock (text) Assert.Contains("interrupted", text.ToString());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            lock (text) output.WriteLine(text.ToString());
        }
    }

    [ChaosFact(NeedsSetpriv = true)]
    public void WithoutRoot_ItSaysWhyAndMakesNothing()
    {
        var (file, built) = CliCommand();
        var home = Directory.CreateTempSubdirectory("switchboard-nobody-");
        try
        {
            // nobody must be able to read the build output and write its own home. The clone may sit in a folder only
            // root can enter (mktemp -d is 0700), so the CLI's folder is copied into the home, readable by anyone.
            if (OperatingSystem.IsLinux()) File.SetUnixFileMode(home.FullName, (UnixFileMode)0x1FF);
            var cli = Path.Combine(home.FullName, "cli");
            if (OperatingSystem.IsWindows()) return; // setpriv (a precondition of this fact) is Linux-only
            CopyReadable(Path.GetDirectoryName(built[0])!, cli);
            var args = new[] { Path.Combine(cli, Path.GetFileName(built[0])) };
            var before = ChaosNetns.List();
            var env = new Dictionary<string, string> { ["HOME"] = home.FullName, ["DOTNET_CLI_HOME"] = home.FullName };
            var (code, stdout, stderr) = Shell.Run("/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", file, .. args, "testnet", "--netns", "--nodes", "3"], env, timeoutMs: 120_000);
            Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Contains("error: testnet --netns: needs root", stderr, StringComparison.Ordinal);
            Assert.Equal("", stdout);
            Assert.Equal(before, ChaosNetns.List());
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    /// <summary>Copies a build output folder to <paramref name="to"/>, every folder 0755 and file 0644.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void CopyReadable(string from, string to)
    {
        Directory.CreateDirectory(to);
        File.SetUnixFileMode(to, (UnixFileMode)0x1ED);
        foreach (var dir in Directory.EnumerateDirectories(from))
            CopyReadable(dir, Path.Combine(to, Path.GetFileName(dir)));
        foreach (var f in Directory.EnumerateFiles(from))
        {
            var target = Path.Combine(to, Path.GetFileName(f));
            File.Copy(f, target);
            File.SetUnixFileMode(target, (UnixFileMode)0x1A4);
        }
    }

    private static string SafeCommandLine(Process p)
    {
        try
        {
            return File.ReadAllText($"/proc/{p.Id}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
