using Microsoft.Extensions.Logging;

namespace Switchboard;

/// <summary>Switch log messages; event ids 400–499.</summary>
internal static partial class SwitchLog
{
    [LoggerMessage(400, LogLevel.Information, "Switch {NodeId} started, listening on {Address}")]
    public static partial void Started(ILogger logger, string nodeId, string address);

    [LoggerMessage(401, LogLevel.Information, "Switch {NodeId} stopped")]
    public static partial void Stopped(ILogger logger, string nodeId);

    [LoggerMessage(402, LogLevel.Information, "Peer added: {Peer}")]
    public static partial void PeerAdded(ILogger logger, string peer);

    [LoggerMessage(403, LogLevel.Information, "Peer removed: {Peer}, reason: {Reason}")]
    public static partial void PeerRemoved(ILogger logger, string peer, string reason);

    [LoggerMessage(404, LogLevel.Information, "Peer {PeerId} from {Remote} refused: {Reason}{Suppressed}")]
    public static partial void PeerRejected(ILogger logger, string peerId, string remote, string reason, string suppressed);

    [LoggerMessage(405, LogLevel.Warning, "Reactor {Reactor} failed on a message from {PeerId}")]
    public static partial void ReactorReceiveFailed(ILogger logger, string reactor, string peerId, Exception error);

    [LoggerMessage(406, LogLevel.Warning, "Reactor {Reactor} failed in RemovePeer({PeerId})")]
    public static partial void ReactorRemovePeerFailed(ILogger logger, string reactor, string peerId, Exception error);

    [LoggerMessage(407, LogLevel.Debug, "Dial to persistent peer {Address} failed (attempt {Attempt}): {Reason}")]
    public static partial void PersistentDialFailed(ILogger logger, string address, int attempt, string reason);

    [LoggerMessage(408, LogLevel.Warning, "Gave up redialing persistent peer {Address}")]
    public static partial void PersistentGaveUp(ILogger logger, string address);

    [LoggerMessage(409, LogLevel.Error, "Background peer task failed")]
    public static partial void BackgroundFailed(ILogger logger, Exception error);
}
