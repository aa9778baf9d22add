using Microsoft.Extensions.Logging;

namespace Switchboard.Conn;

public sealed partial class MConnection
{
    /// <summary>Log messages of the MConnection; event ids 1100–1199.</summary>
    private static partial class Log
    {
        [LoggerMessage(1100, LogLevel.Debug, "MConnection started with {ChannelCount} channels, {Framing} framing")]
        public static partial void Started(ILogger logger, int channelCount, PacketFraming framing);

        [LoggerMessage(1101, LogLevel.Debug, "MConnection closed ({Reason})")]
        public static partial void Closed(ILogger logger, string reason);

        [LoggerMessage(1102, LogLevel.Information, "MConnection failed: {ErrorType}: {ErrorMessage}")]
        public static partial void Failed(ILogger logger, string errorType, string errorMessage);

        [LoggerMessage(1110, LogLevel.Warning, "MConnection failed unexpectedly: {ErrorType}: {ErrorMessage}")]
        public static partial void FailedUnexpectedly(ILogger logger, string errorType, string errorMessage, Exception exception);

        [LoggerMessage(1111, LogLevel.Debug, "channel 0x{ChannelId:x2} full: dropped the newest message ({Bytes} bytes)")]
        public static partial void MessageDropped(ILogger logger, byte channelId, long bytes);

        [LoggerMessage(1112, LogLevel.Debug, "channel 0x{ChannelId:x2} full ({LaneBytes} bytes waiting, {ConnectionBytes} held): reading paused")]
        public static partial void ReadPaused(ILogger logger, byte channelId, long laneBytes, long connectionBytes);

        [LoggerMessage(1113, LogLevel.Debug, "channel 0x{ChannelId:x2} has room again: reading resumed")]
        public static partial void ReadResumed(ILogger logger, byte channelId);

        [LoggerMessage(1114, LogLevel.Information, "no write progress within {TimeoutMs} ms")]
        public static partial void WriteStalled(ILogger logger, double timeoutMs);

        [LoggerMessage(1103, LogLevel.Trace, "ping sent")]
        public static partial void PingSent(ILogger logger);

        [LoggerMessage(1104, LogLevel.Trace, "pong sent")]
        public static partial void PongSent(ILogger logger);

        [LoggerMessage(1105, LogLevel.Information, "no pong within {TimeoutMs} ms")]
        public static partial void PongTimeout(ILogger logger, double timeoutMs);

        [LoggerMessage(1106, LogLevel.Warning, "message handler threw; closing the connection")]
        public static partial void HandlerThrew(ILogger logger, Exception exception);

        [LoggerMessage(1107, LogLevel.Error, "OnClosed handler threw")]
        public static partial void OnClosedThrew(ILogger logger, Exception exception);

        [LoggerMessage(1108, LogLevel.Debug, "closing the transport failed")]
        public static partial void TransportDisposeFailed(ILogger logger, Exception exception);

        [LoggerMessage(1109, LogLevel.Debug, "send on channel 0x{ChannelId:x2}, which is not registered")]
        public static partial void SendOnUnknownChannel(ILogger logger, byte channelId);
    }
}
