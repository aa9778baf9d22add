using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Cli.Config;

/// <summary>
/// Durations as text, the way CometBFT's config.toml writes them (Go's <c>time.Duration</c> syntax): a sequence of
/// decimal numbers with a unit each, e.g. <c>3s</c>, <c>100ms</c>, <c>1m30s</c>, <c>1h</c>; a bare <c>0</c> is zero.
/// Units: <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>. Negative durations are refused.
/// </summary>
internal static class Duration
{
    public static bool TryParse(string? text, out TimeSpan value, [NotNullWhen(false)] out string? error)
    {
        value = TimeSpan.Zero;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty duration";
            return false;
        }
        var s = text.Trim();
        if (s == "0") return true;
        double totalMs = 0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                error = $"\"{text}\" is not a duration (expected e.g. 10s, 500ms, 1m30s)";
                return false;
            }
            var unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            double? factor = s[unitStart..i] switch
            {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => null,
            };
            if (factor is null)
            {
                error = $"\"{text}\": unknown or missing unit \"{s[unitStart..i]}\" (use ms, s, m or h)";
                return false;
            }
            totalMs += number * factor.Value;
        }
        // TimeSpan.MaxValue is ~29,000 years; anything near it is a typo, not a setting.
        if (totalMs > TimeSpan.FromDays(3650).TotalMilliseconds)
        {
            error = $"\"{text}\" is longer than ten years";
            return false;
        }
        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value, out var error) ? value : throw new FormatException(error);

    /// <summary>Formats like Go: <c>0s</c>, <c>250ms</c>, <c>3s</c>, <c>1m30s</c>, <c>1h</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero) return "0s";
        var c = CultureInfo.InvariantCulture;
        if (value < TimeSpan.FromSeconds(1)) return value.TotalMilliseconds.ToString("0.###", c) + "ms";
        var sb = new StringBuilder();
        var hours = (long)value.TotalHours;
        if (hours > 0) sb.Append(hours.ToString(c)).Append('h');
        if (value.Minutes > 0) sb.Append(value.Minutes.ToString(c)).Append('m');
        var seconds = value.Seconds + value.Milliseconds / 1000.0;
        if (seconds > 0) sb.Append(seconds.ToString("0.###", c)).Append('s');
        return sb.ToString();
    }
}

/// <summary>Reads and writes <see cref="TimeSpan"/> settings as <see cref="Duration"/> text.</summary>
internal sealed class DurationJsonConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException("a duration must be a string such as \"10s\" or \"500ms\"");
        return Duration.TryParse(reader.GetString(), out var value, out var error) ? value : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Duration.Format(value));
}
