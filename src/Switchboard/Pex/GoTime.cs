using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Switchboard.Pex;

/// <summary>
/// Go's <c>time.Time</c> JSON text: RFC 3339 with up to nine fractional digits and a <c>Z</c> or <c>±hh:mm</c>
/// offset (CometBFT writes the writing host's local offset). Go's zero time <c>0001-01-01T00:00:00Z</c> is
/// <see cref="DateTimeOffset.MinValue"/>.
/// </summary>
internal static class GoTime
{
    /// <summary>Go's zero time as written by <c>encoding/json</c>.</summary>
    public const string ZeroText = "0001-01-01T00:00:00Z";

    /// <summary>RFC 3339 in UTC with trailing fractional zeros removed (Go's RFC3339Nano layout).</summary>
    public static string Format(DateTimeOffset time)
    {
        if (time == DateTimeOffset.MinValue) return ZeroText;
        var utc = time.UtcDateTime;
        var sb = new StringBuilder(30);
        sb.Append(utc.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss", CultureInfo.InvariantCulture));
        var fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0)
        {
            // .NET keeps 100 ns ticks: seven digits, trailing zeros dropped as Go does.
            var digits = fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0');
            sb.Append('.').Append(digits);
        }
        sb.Append('Z');
        return sb.ToString();
    }

    /// <summary>
    /// Parses RFC 3339 as Go's <c>time.Time.UnmarshalJSON</c> accepts it. Digits beyond the seventh fractional
    /// one are truncated (.NET's resolution is 100 ns). A time before year 1 UTC (the zero time written with a
    /// positive offset) becomes <see cref="DateTimeOffset.MinValue"/>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> s, out DateTimeOffset time, [NotNullWhen(false)] out string? error)
    {
        time = default;
        error = "not an RFC 3339 time";
        if (s.Length < 20 || s.Length > 64) return false;
        if (!Digits(s, 0, 4, out var year) || s[4] != '-' || !Digits(s, 5, 2, out var month) || s[7] != '-'
            || !Digits(s, 8, 2, out var day) || s[10] != 'T' || !Digits(s, 11, 2, out var hour) || s[13] != ':'
            || !Digits(s, 14, 2, out var minute) || s[16] != ':' || !Digits(s, 17, 2, out var second))
            return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23
            || minute > 59 || second > 59)
        {
            error = "time field out of range";
            return false;
        }
        var i = 19;
        long fractionTicks = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            var start = i;
            long scale = TimeSpan.TicksPerSecond / 10;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                fractionTicks += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == start) return false;
        }
        if (i >= s.Length) return false;
        long offsetMinutes;
        if (s[i] == 'Z')
        {
            offsetMinutes = 0;
            i++;
        }
        else if (s[i] is '+' or '-')
        {
            if (i + 6 != s.Length || !Digits(s, i + 1, 2, out var oh) || s[i + 3] != ':' || !Digits(s, i + 4, 2, out var om)
                || oh > 23 || om > 59)
                return false;
            offsetMinutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
            i += 6;
        }
        else return false;
        if (i != s.Length) return false;
        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks;
        var utcTicks = local - offsetMinutes * TimeSpan.TicksPerMinute;
        if (utcTicks <= 0) time = DateTimeOffset.MinValue;
        else if (utcTicks > DateTimeOffset.MaxValue.UtcTicks)
        {
            error = "time out of range";
            return false;
        }
        else time = new DateTimeOffset(utcTicks, TimeSpan.Zero);
        error = null;
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length) return false;
        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(s[i])) return false;
            value = value * 10 + (s[i] - '0');
        }
        return true;
    }
}
