using System.Diagnostics;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// The programs in examples/ are built with the tests (project references) and run here as child processes, each with
/// a deadline: they must exit 0 and print what shows that messages really went between their nodes.
/// </summary>
public sealed class ExamplesTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void ReadmeSample_IsTheReadmeText()
    {
        var readme = Normalize(File.ReadAllText(Path.Combine(RepoRoot, "README.md")));
        var section = readme.IndexOf("\n## Using the library\n", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has a \"Using the library\" section");
        const string open = "```csharp\n";
        var start = readme.IndexOf(open, section, StringComparison.Ordinal) + open.Length;
        var end = readme.IndexOf("```\n", start, StringComparison.Ordinal);
        var sample = Normalize(File.ReadAllText(Path.Combine(RepoRoot, "examples", "ReadmeSample", "Program.cs")));
        Assert.Equal(sample, readme[start..end]);
    }

    [Fact]
    public async Task ReadmeSample_DeliversAMessageEachWay()
    {
        var (exit, output) = await RunExampleAsync("ReadmeSample");
        Assert.True(exit == 0, $"exit {exit}\n{output}");
        Assert.Contains("alice got from bob: hello from bob", output, StringComparison.Ordinal);
        Assert.Contains("bob got from alice: hello, bob", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostedPingPong_GetsEveryPong()
    {
        var (exit, output) = await RunExampleAsync("HostedPingPong", "--PingPong:Count", "20");
        Assert.True(exit == 0, $"exit {exit}\n{output}");
        Assert.Matches(@"ping: 20 pongs from pong in \d+ ms", output);
        // Both hosts stopped their nodes (the hosted service's line), not merely exited.
        Assert.Equal(2, output.Split('\n').Count(l => l.Contains("Switchboard node", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" stopped", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GossipAgent_ReachesEveryNode()
    {
        var (exit, output) = await RunExampleAsync("GossipAgent");
        Assert.True(exit == 0, $"exit {exit}\n{output}");
        Assert.Contains("100 transactions reached all 4 nodes", output, StringComparison.Ordinal);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string RepoRoot => RepoPaths.Root;

    /// <summary>Runs examples/NAME's build output (the configuration the tests were built in) with a deadline.</summary>
    private static async Task<(int Exit, string Output)> RunExampleAsync(string name, params string[] args)
    {
        var dll = Path.Combine(RepoRoot, "examples", name, "bin", RepoPaths.Configuration, "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} was not built (the test project references the examples)");
        var psi = new ProcessStartInfo(RepoPaths.Dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(Deadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} did not exit within {Deadline.TotalSeconds} s\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
