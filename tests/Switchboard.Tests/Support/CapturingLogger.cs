using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>One captured log line: level, event id and the formatted message.</summary>
public sealed record CapturedLine(LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>An <see cref="ILogger"/> that keeps every line it is given (all levels enabled), for assertions.</summary>
public sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<CapturedLine> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue(new CapturedLine(logLevel, eventId, formatter(state, exception), exception));
}
