namespace Switchboard.Cli;

internal static class Program
{
    // The idle-peers bench runs its peers in a child process started as `switchboard __bench-idle-clients HUB`: a hidden
    // entry point that is not part of the command tree (and so not in --help).
    public static Task<int> Main(string[] args) => args is [Bench.IdlePeersScenario.ClientCommand, .. var rest]
        ? Bench.IdlePeersScenario.RunClientsAsync(rest)
        : SwitchboardCli.InvokeAsync(args);
}
