using System.CommandLine;
using System.Net;
using Switchboard.Cli.Config;
using Switchboard.Nat;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard nat probe</c>: looks for a UPnP IGD / NAT-PMP gateway and reports what it offers.</summary>
internal static class NatCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var gateway = new Option<string?>("--gateway") { Description = "Gateway IP for NAT-PMP (default: the default route's gateway)" };
        var noMapping = CommandSupport.Flag("--no-mapping", "Only discover; do not add (and remove) a test port mapping");
        var json = CommandSupport.Json();
        var probe = new Command("probe", "Discover the gateway (UPnP IGD, NAT-PMP), its external address and whether a port mapping works; exit 1 if no gateway is found");
        foreach (var o in new Option[] { gateway, noMapping, json }) probe.Options.Add(o);
        CommandSupport.SetAction(probe, environment, async context =>
        {
            IPAddress? gatewayIp = null;
            if (context.Get(gateway) is { } text && !IPAddress.TryParse(text, out gatewayIp))
                throw new ConfigException($"--gateway: \"{text}\" is not an IP address");
            // NatProbeOptions' defaults finish within about 2 s without a gateway (SSDP wait, NAT-PMP retries).
            var report = await NatProbe.RunAsync(new NatProbeOptions { Gateway = gatewayIp, TestMapping = !context.Get(noMapping) },
                context.CancellationToken);
            if (context.Get(json)) await context.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(report, CliJsonContext.Output.NatProbeReport));
            else await context.Out.WriteAsync(report.ToString());
            return report.GatewayFound ? ExitCodes.Ok : ExitCodes.Failure;
        });
        var command = new Command("nat", "NAT traversal diagnostics");
        command.Subcommands.Add(probe);
        return command;
    }
}
