using System.CommandLine;
using System.Globalization;
using Switchboard.Cli.Config;
using Switchboard.Cli.Hosting;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard demo</c>: two nodes on 127.0.0.1 in one process, no files written. An echo node (the same
/// <see cref="NodeHost"/> that <c>start --echo 0x77</c> runs) is started, probed, then loaded with <c>send</c>
/// at three message sizes. Exit 0 when every step succeeded.
/// </summary>
internal static class DemoCommand
{
    private const byte EchoChannel = 0x77;

    /// <summary>(count, size) of each send: many small messages, medium ones, and a few of 1 MiB.</summary>
    private static readonly (int Count, int Size)[] Runs = [(2000, 1024), (200, 64 * 1024), (8, 1024 * 1024)];

    public static Command Create(CliEnvironment environment)
    {
        var command = new Command("demo", "Start an echo node on 127.0.0.1 in-process, probe it and send it messages (a two-node local demo)");
        CommandSupport.SetAction(command, environment, async context =>
        {
            var output = context.Out;
            var config = new NodeConfig
            {
                Moniker = "demo-echo",
                ChainId = "switchboard-demo",
                // Several clients from one IP connect one after another; the echo node must not refuse the next while
                // it is still removing the previous one.
                P2P = new P2PConfig { ListenAddress = "tcp://127.0.0.1:0", AllowDuplicateIp = true },
                Diagnostics = new DiagnosticsConfig { EchoChannel = Addresses.FormatChannel(EchoChannel) },
            };
            await using var node = new NodeHost(config, NodeKey.Generate(), context.LoggerFactory);
            await node.StartAsync(context.CancellationToken);
            var target = DialAddress.From(node.ListenAddress!);
            output.WriteLine("switchboard demo: two nodes talking over 127.0.0.1 in this process");
            output.WriteLine($"echo node  {target} (moniker {config.Moniker}, chain {config.ChainId}), echoing channel {Addresses.FormatChannel(EchoChannel)}");
            output.WriteLine();

            var ok = true;
            output.WriteLine($"[1] switchboard probe {target} --chain-id {config.ChainId}");
            using (var key = NodeKey.Generate())
            {
                var probe = await ProbeRunner.RunAsync(target, key, config.ChainId, "demo-probe", ProbeRunner.DefaultChannels,
                    TimeSpan.FromSeconds(10), context.LoggerFactory, context.CancellationToken);
                ProbeRunner.Print(probe, output);
                ok &= probe.Ok;
            }
            var step = 2;
            foreach (var (count, size) in Runs)
            {
                output.WriteLine();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{step++}] switchboard send --to {target} --chain-id {config.ChainId} --count {count} --size {size}"));
                using var key = NodeKey.Generate();
                var request = new SendRequest(target, EchoChannel, count, size, Window: 64, Timeout: TimeSpan.FromSeconds(10));
                var report = await EchoLoad.RunAsync(request, key, config.ChainId, "demo-send", context.LoggerFactory,
                    line => output.WriteLine(line), context.CancellationToken);
                EchoLoad.Print(report, output);
                ok &= report.Ok;
            }
            output.WriteLine();
            output.WriteLine(ok ? "demo OK" : "demo FAILED");
            return ok ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }
}
