using System.Net;
using Microsoft.Extensions.Logging;

namespace Switchboard.Transport;

/// <summary>Transport log messages; event ids 300–399.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(300, LogLevel.Debug, "Inbound connection from {Remote} rejected: {Reason}")]
    public static partial void InboundRejected(ILogger logger, IPEndPoint remote, string reason);

    [LoggerMessage(303, LogLevel.Warning, "Inbound upgrade failed unexpectedly")]
    public static partial void UpgradeFailed(ILogger logger, Exception exception);

    [LoggerMessage(304, LogLevel.Information, "Inbound connection from {Remote} refused: {Reason}{Suppressed}")]
    public static partial void InboundRefused(ILogger logger, IPEndPoint remote, string reason, string suppressed);

    [LoggerMessage(301, LogLevel.Information, "Listening on {Address}")]
    public static partial void Listening(ILogger logger, string address);

    [LoggerMessage(302, LogLevel.Warning, "Accept loop failed")]
    public static partial void AcceptFailed(ILogger logger, Exception error);
}
