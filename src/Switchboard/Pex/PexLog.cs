using Microsoft.Extensions.Logging;

namespace Switchboard.Pex;

/// <summary>PEX and address-book log messages; event ids 600–699.</summary>
internal static partial class PexLog
{
    [LoggerMessage(600, LogLevel.Information, "Address book {Path} loaded: {Loaded} entries, {Skipped} skipped, {Bans} bans")]
    public static partial void AddrBookLoaded(ILogger logger, string path, int loaded, int skipped, int bans);

    // The expected file conditions below are one line each and carry no exception (no stack trace): the reason is
    // in the message.
    [LoggerMessage(601, LogLevel.Error, "Address book {Path} is corrupt ({Reason}); moved it to {MovedTo} and starting with an empty book")]
    public static partial void AddrBookCorrupt(ILogger logger, string path, string reason, string movedTo);

    [LoggerMessage(602, LogLevel.Warning, "Address book {Path} could not be saved: {Reason}")]
    public static partial void AddrBookSaveFailed(ILogger logger, string path, string reason);

    [LoggerMessage(603, LogLevel.Information, "PEX: disconnecting and banning {Peer}: {Reason}")]
    public static partial void Punished(ILogger logger, string peer, string reason);

    [LoggerMessage(604, LogLevel.Debug, "PEX: dial to {Address} failed (attempt {Attempt}): {Reason}")]
    public static partial void DialFailed(ILogger logger, string address, int attempt, string reason);

    [LoggerMessage(605, LogLevel.Debug, "PEX: received {Count} addresses from {Peer}, {Added} new")]
    public static partial void AddrsReceived(ILogger logger, int count, string peer, int added);

    [LoggerMessage(606, LogLevel.Warning, "PEX: seed {Seed} could not be dialed: {Reason}")]
    public static partial void SeedDialFailed(ILogger logger, string seed, string reason);

    [LoggerMessage(607, LogLevel.Warning, "PEX: the address book is empty and no seed is configured; this node can only be found by others")]
    public static partial void NoSeeds(ILogger logger);

    [LoggerMessage(608, LogLevel.Information, "PEX: {Address} is ourselves; recorded as our own address")]
    public static partial void SelfAddress(ILogger logger, string address);

    [LoggerMessage(609, LogLevel.Error, "PEX background task failed")]
    public static partial void BackgroundFailed(ILogger logger, Exception error);

    [LoggerMessage(610, LogLevel.Debug, "Crawler: {Address} visited: {Result}")]
    public static partial void CrawlVisited(ILogger logger, string address, string result);

    [LoggerMessage(611, LogLevel.Error, "Address book {Path} is corrupt ({Reason}) and could not be moved aside ({MoveError}); starting with an empty book, which the next save writes over it")]
    public static partial void AddrBookCorruptNotMoved(ILogger logger, string path, string reason, string moveError);

    [LoggerMessage(612, LogLevel.Information, "Address book {Path}: removed {Count} temporary file(s) left by an interrupted save")]
    public static partial void AddrBookTemporaryFilesRemoved(ILogger logger, string path, int count);
}
