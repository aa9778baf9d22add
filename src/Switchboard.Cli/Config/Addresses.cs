using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Switchboard.Cli.Config;

/// <summary>Parsers for the address- and channel-shaped settings shared by the config file and the flags.</summary>
internal static class Addresses
{
    /// <summary>
    /// <c>tcp://IP:PORT</c> or <c>IP:PORT</c> (IPv6 in brackets). Only TCP is served; the host must be an IP literal
    /// because it is bound, not resolved (CometBFT's <c>laddr</c>). Port 0 picks a free port.
    /// </summary>
    public static bool TryParseListen(string? text, [NotNullWhen(true)] out IPEndPoint? endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty listen address";
            return false;
        }
        var rest = text.Trim();
        var scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            if (!rest[..scheme].Equals("tcp", StringComparison.OrdinalIgnoreCase))
            {
                error = $"\"{text}\": only tcp:// is supported";
                return false;
            }
            rest = rest[(scheme + 3)..];
        }
        if (!TrySplitHostPort(rest, out var host, out var port) || !IPAddress.TryParse(host, out var ip))
        {
            error = $"\"{text}\" is not tcp://IP:PORT";
            return false;
        }
        endpoint = new IPEndPoint(ip, port);
        error = null;
        return true;
    }

    /// <summary>
    /// <c>HOST:PORT</c> (optionally <c>tcp://</c>-prefixed) advertised to peers as NodeInfo <c>listen_addr</c>; the
    /// host may be an IP literal or a DNS name and the port must not be 0. Returns the normalised <c>HOST:PORT</c>.
    /// </summary>
    public static bool TryParseExternal(string? text, [NotNullWhen(true)] out string? normalised, [NotNullWhen(false)] out string? error)
    {
        normalised = null;
        var rest = text?.Trim() ?? "";
        if (rest.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)) rest = rest[6..];
        if (!TrySplitHostPort(rest, out var host, out var port) || port == 0)
        {
            error = $"\"{text}\" is not HOST:PORT with a port from 1 to 65535";
            return false;
        }
        if (IPAddress.TryParse(host, out var ip))
        {
            normalised = new IPEndPoint(ip, port).ToString();
        }
        else if (Uri.CheckHostName(host) == UriHostNameType.Dns)
        {
            normalised = $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
        }
        else
        {
            error = $"\"{text}\": \"{host}\" is neither an IP address nor a host name";
            return false;
        }
        error = null;
        return true;
    }

    private static bool TrySplitHostPort(string text, out string host, out ushort port)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0) return false;
        host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':')) return false; // an IPv6 literal needs brackets when a port follows
        return ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port);
    }

    /// <summary>
    /// A channel id, always hex as CometBFT writes them: <c>0x77</c> or <c>77</c> (both 119), <c>0x00</c> to <c>0xff</c>.
    /// One rule for every flag and setting (<c>--echo</c>, <c>send --channel</c>, <c>probe --channels</c>,
    /// <c>switchboard.echo_channel</c>), so <c>77</c> never means 0x4d in one place and 0x77 in another.
    /// </summary>
    public static bool TryParseChannel(string? text, out byte channel, [NotNullWhen(false)] out string? error)
    {
        channel = 0;
        var s = text?.Trim() ?? "";
        var digits = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s;
        var ok = digits.Length is 1 or 2 && byte.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out channel);
        error = ok ? null : $"\"{text}\" is not a channel id (hex, 0x00 to 0xff: e.g. 0x77 or 77)";
        return ok;
    }

    /// <summary>Formats a channel id as CometBFT's logs do: <c>0x77</c>.</summary>
    public static string FormatChannel(byte channel) => "0x" + channel.ToString("x2", CultureInfo.InvariantCulture);

    /// <summary>A channel list as text: <c>0x77 0x00</c>, or <c>(none)</c>.</summary>
    public static string FormatChannels(ReadOnlySpan<byte> channels)
    {
        if (channels.IsEmpty) return "(none)";
        var parts = new string[channels.Length];
        for (var i = 0; i < channels.Length; i++) parts[i] = FormatChannel(channels[i]);
        return string.Join(' ', parts);
    }
}
