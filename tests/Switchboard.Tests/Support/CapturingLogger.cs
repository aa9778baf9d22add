using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>One log call as the library made it: level, event id, the formatted message and the exception passed.</summary>
public sealed record CapturedLog(LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    /// <summary>What a console logger would print: the message and, when an exception was passed, its text with the stack trace.</summary>
    public string Rendered => Exception is null ? Message : Message + Environment.NewLine + Exception;
}

/// <summary>An <see cref="ILogger"/> that keeps every call, at every level.</summary>
public sealed class CapturingLogger : ILogger
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new CapturedLog(logLevel, eventId, formatter(state, exception), exception));
}
