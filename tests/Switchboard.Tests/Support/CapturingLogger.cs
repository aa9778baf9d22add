using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>One log call as the library made it: level, event id, the formatted message and the exception passed.</summary>
public sealed record CapturedLog(LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    /// <summary>What a console logger would print: the message and, when an exception was passed, its text with the stack trace.</summary>
    public string Rendered => Exception is null ? Message : Message + Environment.NewLine + Exception;
}

/// <summary>One captured log line: level, event id and the formatted message.</summary>
public sealed record CapturedLine(LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>An <see cref="ILogger"/> that keeps every call, at every level.</summary>
public sealed class CapturingLogger : ILogger
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    /// <summary>The same calls as <see cref="Entries"/>, as a live queue.</summary>
    public ConcurrentQueue<CapturedLine> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        _entries.Enqueue(new CapturedLog(logLevel, eventId, message, exception));
        Lines.Enqueue(new CapturedLine(logLevel, eventId, message, exception));
    }
}
