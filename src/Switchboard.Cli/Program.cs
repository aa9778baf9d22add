using System.CommandLine;

namespace Switchboard.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("switchboard: a CometBFT-compatible p2p node");
        return root.Parse(args).Invoke();
    }
}
