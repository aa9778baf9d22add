using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchboard.Hosting;

/// <summary>Starts the Switch (listening, dialing persistent peers) when the host starts and stops it when the host
/// stops. Registered by AddSwitchboard before anything the caller adds after it, so the caller's hosted services start
/// after the Switch is up and stop before it goes down.</summary>
/// <remarks>It logs through the Switch's <see cref="Switch.LoggerFactory"/>, the container's
/// <see cref="ILoggerFactory"/> (or none) as <see cref="SwitchboardNode"/> resolved it, under the category
/// "Switchboard.Hosting" beside the library's "Switchboard.Switch", "Switchboard.Transport", …: one factory for every line
/// of the node, and a container without logging still starts it.</remarks>
internal sealed class SwitchboardHostedService(SwitchboardNode node) : IHostedService
{
    private readonly ILogger _logger = node.Switch.LoggerFactory.CreateLogger("Switchboard.Hosting");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await node.Switch.StartAsync(node.ListenEndPoint, cancellationToken).ConfigureAwait(false);
        HostingLog.Started(_logger, node.Switch.NodeId.ToString(), node.Switch.ListenAddress?.ToString() ?? "not listening");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host's shutdown timeout bounds the wait; the Switch finishes stopping when the container disposes it.
        await node.Switch.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        HostingLog.Stopped(_logger, node.Switch.NodeId.ToString());
    }
}
