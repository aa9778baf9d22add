using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Switchboard.Cli;

/// <summary>How log lines are written: <c>plain</c> text or one JSON object per line.</summary>
internal enum LogFormat { Plain, Json }

/// <summary>The minimum level and the format of one command run's log lines.</summary>
internal readonly record struct LogSettings(LogLevel Level, LogFormat Format);

/// <summary>
/// The command's log output: one line per message on standard error, dated (UTC, ISO 8601), as plain text
/// (Microsoft.Extensions.Logging.Console's simple formatter) or JSON (its JSON formatter, scopes included, so a
/// peer line carries <c>peer_id</c>). Expected failures — a connection lost, a refused handshake, a corrupt file —
/// are written as their message, without the stack trace, unless the level is Debug or Trace.
/// </summary>
internal static class CliLogging
{
    /// <summary>ISO 8601 in UTC with milliseconds: sorts as text, and is unambiguous across machines and time zones.</summary>
    public const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";

    public static ILoggerFactory CreateConsole(LogSettings settings)
    {
        var inner = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(settings.Level);
            if (settings.Format == LogFormat.Json)
            {
                builder.AddJsonConsole(o =>
                {
                    o.TimestampFormat = TimestampFormat;
                    o.UseUtcTimestamp = true;
                    o.IncludeScopes = true;
                    // One line per message, and no \u003E for '>' in messages such as "peer => reason".
                    o.JsonWriterOptions = new JsonWriterOptions { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
                });
            }
            else
            {
                builder.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = TimestampFormat + " ";
                    o.UseUtcTimestamp = true;
                    // The node's peer lines name the peer in their text already; scopes would repeat it.
                    o.IncludeScopes = false;
                });
            }
            builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            // At the default Information level the library's Switch and MConnection lines are raised to Warning: the
            // host logs every peer added and removed itself, with the reason (a connection's end would otherwise be
            // logged twice).
            if (settings.Level == LogLevel.Information)
            {
                builder.AddFilter("Switchboard.Switch", LogLevel.Warning);
                builder.AddFilter("Switchboard.MConnection", LogLevel.Warning);
            }
        });
        return settings.Level <= LogLevel.Debug ? inner : WithoutExpectedStackTraces(inner);
    }

    /// <summary>
    /// CometBFT's <c>log_level</c>: <c>debug</c>, <c>info</c>, <c>error</c>, <c>none</c> (plus <c>trace</c> and
    /// <c>warn</c>), or a module list such as <c>p2p:debug,*:info</c>, of which the <c>*</c> (or bare) entry is used.
    /// </summary>
    public static bool TryParseLevel(string? text, out LogLevel level)
    {
        level = LogLevel.Information;
        var entries = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? chosen = null;
        foreach (var entry in entries)
        {
            var colon = entry.IndexOf(':');
            if (colon < 0) chosen = entry;
            else if (entry[..colon] == "*") chosen = entry[(colon + 1)..];
            else if (!TryLevelName(entry[(colon + 1)..], out _)) return false;
        }
        return chosen is null ? entries.Length > 0 : TryLevelName(chosen, out level);
    }

    private static bool TryLevelName(string name, out LogLevel level)
    {
        LogLevel? parsed = name.ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "none" => LogLevel.None,
            _ => null,
        };
        level = parsed ?? LogLevel.Information;
        return parsed is not null;
    }

    public static bool TryParseFormat(string? text, out LogFormat format)
    {
        LogFormat? parsed = text?.Trim().ToLowerInvariant() switch
        {
            "plain" or "text" => LogFormat.Plain,
            "json" => LogFormat.Json,
            _ => null,
        };
        format = parsed ?? LogFormat.Plain;
        return parsed is not null;
    }

    /// <summary>
    /// A scope naming the peer a log line is about; the JSON formatter writes it as
    /// <c>"Scopes":[{"peer_id":"…","peer_address":"…"}]</c>.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, object?>> PeerScope(string peerId, string address) => new PeerLogScope(peerId, address);

    /// <summary>The scope's fields, and a readable text (the JSON formatter writes it as the scope's "Message").</summary>
    private sealed class PeerLogScope(string peerId, string address) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("peer_id", peerId),
            1 => new("peer_address", address),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
            yield return this[1];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"peer {peerId} at {address}";
    }

    /// <summary>
    /// Failures that are part of running a p2p node — a peer going away, a handshake refused, a socket error, a
    /// malformed file — and so need their message, not a stack trace.
    /// </summary>
    public static bool IsExpected(Exception exception) => exception is P2PException or IOException or SocketException
        or OperationCanceledException or ObjectDisposedException or TimeoutException or JsonException
        or InvalidDataException or UnauthorizedAccessException;

    /// <summary>Wraps <paramref name="inner"/> so that an expected exception is written as ": message" at the end of the line instead of as a stack trace.</summary>
    public static ILoggerFactory WithoutExpectedStackTraces(ILoggerFactory inner) => new ExpectedErrorsLoggerFactory(inner);

    private sealed class ExpectedErrorsLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new ExpectedErrorsLogger(inner.CreateLogger(categoryName));

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class ExpectedErrorsLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is null || !IsExpected(exception))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }
            var message = Describe(exception);
            inner.Log(logLevel, eventId, state, null, (s, e) =>
            {
                var text = formatter(s, e);
                return text.Contains(message, StringComparison.Ordinal) ? text : $"{text}: {message}";
            });
        }

        // The message chain, outermost first ("handshake timed out: connection reset"), without type names.
        private static string Describe(Exception exception)
        {
            var parts = new List<string>();
            for (var e = exception; e is not null && parts.Count < 4; e = e.InnerException)
                if (!string.IsNullOrWhiteSpace(e.Message) && !parts.Any(p => p.Contains(e.Message, StringComparison.Ordinal))) parts.Add(e.Message);
            return string.Join(": ", parts);
        }
    }
}
