using System.Net;
using Microsoft.Extensions.Logging;

namespace Switchboard.Nat;

/// <summary>Log messages of the NAT area (event ids 7000–7099).</summary>
internal static partial class NatLog
{
    [LoggerMessage(7000, LogLevel.Debug, "{Protocol} could not map port {InternalPort}: {Reason}")]
    public static partial void ProtocolFailed(ILogger logger, NatProtocol protocol, int internalPort, string reason);

    [LoggerMessage(7001, LogLevel.Information, "Mapped TCP {External} -> port {InternalPort} with {Protocol} via {Gateway} for {Lifetime}")]
    public static partial void Mapped(ILogger logger, IPEndPoint external, int internalPort, NatProtocol protocol, string gateway, TimeSpan lifetime);

    [LoggerMessage(7002, LogLevel.Warning, "The gateway's external address {Address} is private or reserved: the gateway is itself behind NAT")]
    public static partial void BehindNat(ILogger logger, IPAddress address);

    [LoggerMessage(7003, LogLevel.Debug, "Renewed TCP {External} -> port {InternalPort} for {Lifetime}")]
    public static partial void Renewed(ILogger logger, IPEndPoint external, int internalPort, TimeSpan lifetime);

    [LoggerMessage(7004, LogLevel.Warning, "Renewing the mapping for port {InternalPort} failed; retrying in {Retry}")]
    public static partial void RenewFailed(ILogger logger, Exception error, int internalPort, TimeSpan retry);

    [LoggerMessage(7005, LogLevel.Warning, "Removing the mapping {External} failed")]
    public static partial void UnmapFailed(ILogger logger, Exception error, IPEndPoint external);

    [LoggerMessage(7006, LogLevel.Error, "A MappingChanged handler threw")]
    public static partial void HandlerFailed(ILogger logger, Exception error);
}
