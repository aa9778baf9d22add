using System.CommandLine;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Hosting.Netns;

using Switchboard.Cli.Hosting;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard testnet-node</c> (hidden): one node of <c>testnet --netns</c>, started by the coordinator inside the
/// node's namespace with a home the coordinator prepared. Prints a JSON status line every <c>--status-interval</c>
/// (<see cref="ChaosNodeStatus"/>) and takes orders on standard input (<see cref="ChaosNode"/>). Not meant to be run by
/// hand; <c>testnet --netns</c> is the command.
/// </summary>
internal static class TestnetNodeCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var home = new Option<string>("--home") { Description = "The node's home, made by the coordinator", Required = true };
        var interval = CommandSupport.DurationOption("--gossip-interval", "Time between two own gossip messages (default 500ms)");
        var status = CommandSupport.DurationOption("--status-interval", "Time between two status lines (default 500ms)");
        var command = new Command("testnet-node", "One node of testnet --netns (started by the coordinator inside its namespace)") { Hidden = true };
        foreach (var o in new Option[] { home, interval, status }) command.Options.Add(o);
        CommandSupport.SetAction(command, environment, async context =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            var logger = context.LoggerFactory.CreateLogger("Switchboard.Cli.TestnetNode");
            await using var signals = context.Environment.HandleSignals ? await CommandHost.StopOnSignalsAsync(context, stop, logger) : null;
            return await ChaosNode.RunAsync(context.Get(home), context.Get(interval) ?? TimeSpan.FromMilliseconds(500),
                context.Get(status) ?? TimeSpan.FromMilliseconds(500), Console.In, context.Out, context.LoggerFactory, stop.Token);
        });
        return command;
    }
}
