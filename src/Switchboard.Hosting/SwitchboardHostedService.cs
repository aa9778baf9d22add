using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchboard.Hosting;

/// <summary>Starts the Switch (listening, dialing persistent peers) when the host starts and stops it when the host
/// stops. Registered by AddSwitchboard before anything the caller adds after it, so the caller's hosted services start
/// after the Switch is up and stop before it goes down.</summary>
internal sealed class SwitchboardHostedService(SwitchboardNode node, ILogger<SwitchboardHostedService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await node.Switch.StartAsync(node.ListenEndPoint, cancellationToken).ConfigureAwait(false);
        HostingLog.Started(logger, node.Switch.NodeId.ToString(), node.Switch.ListenAddress?.ToString() ?? "not listening");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host's shutdown timeout bounds the wait; the Switch finishes stopping when the container disposes it.
        await node.Switch.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        HostingLog.Stopped(logger, node.Switch.NodeId.ToString());
    }
}
