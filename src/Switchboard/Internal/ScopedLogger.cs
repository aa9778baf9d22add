using Microsoft.Extensions.Logging;

namespace Switchboard.Internal;

/// <summary>
/// A logger that puts every line of one connection in a scope with the peer's ID and address (Kestrel's
/// connection-id scopes). The scope is opened per line rather than once around the connection's loops: the loops run
/// with the execution context suppressed, so an ambient scope would not reach them.
/// </summary>
internal sealed class ScopedLogger(ILogger inner, string peerId, string peerAddress) : ILogger
{
    private readonly KeyValuePair<string, object?>[] _scope =
    [
        new("peer_id", peerId),
        new("peer_address", peerAddress),
    ];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel)) return;
        using (inner.BeginScope(_scope))
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
