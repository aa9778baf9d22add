using Microsoft.Extensions.Logging;

namespace Switchboard.Hosting;

/// <summary>Log lines of the hosting integration; EventIds 1100–1199.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Switchboard node {NodeId} started ({Listen})")]
    public static partial void Started(ILogger logger, string nodeId, string listen);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Switchboard node {NodeId} stopped")]
    public static partial void Stopped(ILogger logger, string nodeId);
}
