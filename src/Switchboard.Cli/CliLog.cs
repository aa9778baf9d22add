using Microsoft.Extensions.Logging;

namespace Switchboard.Cli;

/// <summary>Log messages of the command-line host; event ids 9000–9099.</summary>
internal static partial class CliLog
{
    [LoggerMessage(9000, LogLevel.Information, "Node {NodeId} ({Moniker}, chain {ChainId}) listening on {Listen}, advertising {Advertised}")]
    public static partial void NodeStarted(ILogger logger, string nodeId, string moniker, string chainId, string listen, string advertised);

    [LoggerMessage(9001, LogLevel.Information, "Node {NodeId} stopped")]
    public static partial void NodeStopped(ILogger logger, string nodeId);

    [LoggerMessage(9002, LogLevel.Information, "Peer added: {Peer} ({Direction}, moniker {Moniker}, {Address}); {Count} peer(s)")]
    public static partial void PeerAdded(ILogger logger, string peer, string direction, string moniker, string address, int count);

    [LoggerMessage(9003, LogLevel.Information, "Peer removed: {Peer} ({Address}): {Reason}; {Count} peer(s)")]
    public static partial void PeerRemoved(ILogger logger, string peer, string address, string reason, int count);

    [LoggerMessage(9004, LogLevel.Information, "Echo reactor on channel {Channel}: every message is sent back to its sender")]
    public static partial void EchoEnabled(ILogger logger, string channel);

    [LoggerMessage(9005, LogLevel.Debug, "Echo to {Peer} on channel {Channel} could not be queued: its send queue is full, so it does not read its echoes; disconnecting it")]
    public static partial void EchoDropped(ILogger logger, string peer, string channel);

    [LoggerMessage(9006, LogLevel.Information, "NAT: TCP port {Port} mapped to {External} with {Protocol} via {Gateway}; advertising it")]
    public static partial void NatMapped(ILogger logger, int port, string external, string protocol, string gateway);

    [LoggerMessage(9007, LogLevel.Warning, "NAT: port mapping failed, continuing without it: {Reason}")]
    public static partial void NatFailed(ILogger logger, string reason);

    [LoggerMessage(9008, LogLevel.Warning, "NAT: not mapping: {Reason}")]
    public static partial void NatSkipped(ILogger logger, string reason);

    [LoggerMessage(9009, LogLevel.Warning, "NAT: mapping {Event}: external endpoint {External}{Error} (NodeInfo keeps the address it started with)")]
    public static partial void NatChanged(ILogger logger, string @event, string external, string error);

    [LoggerMessage(9010, LogLevel.Information, "No node home at {Home}: initialised one (node ID {NodeId})")]
    public static partial void HomeInitialised(ILogger logger, string home, string nodeId);

    [LoggerMessage(9011, LogLevel.Information, "Stopping ({Reason})")]
    public static partial void Stopping(ILogger logger, string reason);

    [LoggerMessage(9012, LogLevel.Warning, "{Peer} is a private or loopback address, which a strict address book (addr_book_strict) drops: for a private or one-host network use --addr-book-strict false{DuplicateIpHint}")]
    public static partial void StrictBookWithPrivatePeer(ILogger logger, string peer, string duplicateIpHint);

    [LoggerMessage(9013, LogLevel.Information, "Metrics (Prometheus) on {Address}")]
    public static partial void MetricsServing(ILogger logger, string address);

    [LoggerMessage(9015, LogLevel.Information, "Metrics pushed by OTLP to {Endpoint}")]
    public static partial void MetricsPushing(ILogger logger, string endpoint);

    [LoggerMessage(9014, LogLevel.Information, "Status API on {Address}: /net_info, /status, /health")]
    public static partial void StatusApiServing(ILogger logger, string address);
}
