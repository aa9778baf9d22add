namespace Switchboard.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => SwitchboardCli.InvokeAsync(args);
}
