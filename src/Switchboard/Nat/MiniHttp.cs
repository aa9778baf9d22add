using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Nat;

/// <summary>An HTTP response read with every part bounded.</summary>
internal sealed record MiniHttpResponse(int Status, string Reason, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>The local end of the connection; for a request to the gateway this is our LAN address.</summary>
    public IPEndPoint? LocalEndPoint { get; init; }
}

/// <summary>
/// A tiny HTTP/1.1 client over a socket from <see cref="NatNetwork.SocketFactory"/>. HttpClient is not used because
/// it creates its own sockets (tests must choose the network namespace) and because every read here has a byte limit.
/// One request per connection (<c>Connection: close</c>); IPv4 literal hosts only, so no DNS lookup can leak.
/// </summary>
internal static class MiniHttp
{
    /// <summary>16 KiB for the status line and headers: a gateway sends a few hundred bytes.</summary>
    public const int MaxHeaderBytes = 16 * 1024;

    /// <summary>Sends one request and reads the whole response within <paramref name="timeout"/>.</summary>
    public static async Task<MiniHttpResponse> SendAsync(
        NatNetwork network, string method, Uri url, IReadOnlyList<KeyValuePair<string, string>> headers, byte[]? body,
        int maxBodyBytes, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var endpoint = EndpointOf(url);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var socket = network.CreateTcp();
            socket.NoDelay = true;
            await socket.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false);
            var local = socket.LocalEndPoint as IPEndPoint;
            using var stream = new NetworkStream(socket, ownsSocket: false);
            var request = BuildRequest(method, url, headers, body);
            await stream.WriteAsync(request, cts.Token).ConfigureAwait(false);
            var response = await ReadResponseAsync(stream, maxBodyBytes, cts.Token).ConfigureAwait(false);
            return response with { LocalEndPoint = local };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NatException(NatError.Timeout, $"HTTP {method} {url} did not complete within {timeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException ex)
        {
            throw new NatException(NatError.NetworkError, $"HTTP {method} {url}: {ex.SocketErrorCode}", ex);
        }
        catch (IOException ex)
        {
            throw new NatException(NatError.NetworkError, $"HTTP {method} {url}: {ex.Message}", ex);
        }
    }

    /// <summary>The IPv4 endpoint of an <c>http://a.b.c.d[:port]/...</c> URL; anything else is refused.</summary>
    public static IPEndPoint EndpointOf(Uri url)
    {
        if (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttp || url.HostNameType != UriHostNameType.IPv4
            || !IPAddress.TryParse(url.Host, out var ip))
            throw new NatException(NatError.UnsupportedGateway, $"refusing URL {url}: only http:// with an IPv4 address is used");
        return new IPEndPoint(ip, url.Port);
    }

    internal static byte[] BuildRequest(string method, Uri url, IReadOnlyList<KeyValuePair<string, string>> headers, byte[]? body)
    {
        var sb = new StringBuilder();
        sb.Append(method).Append(' ').Append(url.PathAndQuery).Append(" HTTP/1.1\r\n");
        sb.Append("Host: ").Append(url.Authority).Append("\r\n");
        foreach (var (k, v) in headers)
        {
            if (k.AsSpan().IndexOfAny('\r', '\n') >= 0 || v.AsSpan().IndexOfAny('\r', '\n') >= 0)
                throw new ArgumentException("header contains a line break", nameof(headers));
            sb.Append(k).Append(": ").Append(v).Append("\r\n");
        }
        sb.Append("Content-Length: ").Append((body?.Length ?? 0).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Connection: close\r\n\r\n");
        var head = Encoding.ASCII.GetBytes(sb.ToString());
        if (body is null || body.Length == 0) return head;
        var all = new byte[head.Length + body.Length];
        head.CopyTo(all, 0);
        body.CopyTo(all, head.Length);
        return all;
    }

    /// <summary>
    /// Reads a status line, headers (at most <see cref="MaxHeaderBytes"/>) and a body framed by Content-Length,
    /// chunked transfer coding or connection close, never more than <paramref name="maxBodyBytes"/>.
    /// </summary>
    public static async Task<MiniHttpResponse> ReadResponseAsync(Stream stream, int maxBodyBytes, CancellationToken cancellationToken = default)
    {
        var reader = new BoundedReader(stream);
        var statusLine = await reader.ReadLineAsync(MaxHeaderBytes, cancellationToken).ConfigureAwait(false)
            ?? throw Malformed("connection closed before the status line");
        var (status, reason) = ParseStatusLine(statusLine);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var headerBytes = statusLine.Length;
        while (true)
        {
            var line = await reader.ReadLineAsync(MaxHeaderBytes - headerBytes, cancellationToken).ConfigureAwait(false)
                ?? throw Malformed("connection closed inside the headers");
            headerBytes += line.Length + 2;
            if (headerBytes > MaxHeaderBytes)
                throw new NatException(NatError.ResponseTooLarge, $"HTTP headers exceed {MaxHeaderBytes} bytes");
            if (line.Length == 0) break;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) throw Malformed("header line without a colon");
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var prev) ? prev + ", " + value : value;
        }

        byte[] body;
        if (status is 204 or 304 || status / 100 == 1)
        {
            body = [];
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await ReadChunkedAsync(reader, maxBodyBytes, cancellationToken).ConfigureAwait(false);
        }
        else if (headers.TryGetValue("Content-Length", out var cl))
        {
            if (!long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                throw Malformed($"bad Content-Length '{Truncate(cl)}'");
            if (length > maxBodyBytes)
                throw new NatException(NatError.ResponseTooLarge, $"HTTP body of {length} bytes exceeds the {maxBodyBytes}-byte limit");
            body = new byte[length];
            await reader.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            body = await reader.ReadToEndAsync(maxBodyBytes, cancellationToken).ConfigureAwait(false);
        }
        return new MiniHttpResponse(status, reason, headers, body);
    }

    private static async Task<byte[]> ReadChunkedAsync(BoundedReader reader, int maxBodyBytes, CancellationToken ct)
    {
        using var body = new MemoryStream();
        while (true)
        {
            // 256: a chunk-size line is a hex number plus optional extensions; anything longer is hostile.
            var sizeLine = await reader.ReadLineAsync(256, ct).ConfigureAwait(false) ?? throw Malformed("connection closed inside chunked body");
            var semi = sizeLine.IndexOf(';', StringComparison.Ordinal);
            var hex = (semi >= 0 ? sizeLine[..semi] : sizeLine).Trim();
            if (hex.Length is 0 or > 8 || !int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
                throw Malformed($"bad chunk size '{Truncate(sizeLine)}'");
            if (size == 0) break;
            if (body.Length + size > maxBodyBytes)
                throw new NatException(NatError.ResponseTooLarge, $"chunked HTTP body exceeds the {maxBodyBytes}-byte limit");
            var chunk = new byte[size];
            await reader.ReadExactlyAsync(chunk, ct).ConfigureAwait(false);
            body.Write(chunk);
            var crlf = await reader.ReadLineAsync(2, ct).ConfigureAwait(false);
            if (crlf is not { Length: 0 }) throw Malformed("chunk not followed by CRLF");
        }
        // Trailer fields, bounded like headers, then the empty line.
        for (var total = 0; ;)
        {
            var line = await reader.ReadLineAsync(MaxHeaderBytes, ct).ConfigureAwait(false);
            if (line is null || line.Length == 0) break;
            total += line.Length;
            if (total > MaxHeaderBytes) throw new NatException(NatError.ResponseTooLarge, "HTTP trailer too large");
        }
        return body.ToArray();
    }

    internal static (int Status, string Reason) ParseStatusLine(string line)
    {
        // "HTTP/1.1 200 OK" (the reason phrase may be empty).
        var parts = line.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || parts[1].Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
            throw Malformed($"bad HTTP status line '{Truncate(line)}'");
        return (status, parts.Length > 2 ? parts[2] : "");
    }

    internal static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";

    private static NatException Malformed(string what) => new(NatError.MalformedResponse, "malformed HTTP response: " + what);

    /// <summary>A small read buffer over a stream with line and total-size limits.</summary>
    private sealed class BoundedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _pos;
        private int _len;

        private async ValueTask<bool> FillAsync(CancellationToken ct)
        {
            _pos = 0;
            _len = await stream.ReadAsync(_buffer, ct).ConfigureAwait(false);
            return _len > 0;
        }

        /// <summary>A line without its CRLF (a bare LF is accepted), or null at end of stream before any byte.</summary>
        public async ValueTask<string?> ReadLineAsync(int maxLength, CancellationToken ct)
        {
            var line = new List<byte>();
            while (true)
            {
                if (_pos == _len && !await FillAsync(ct).ConfigureAwait(false))
                    return line.Count == 0 ? null : throw Malformed("connection closed inside a line");
                var b = _buffer[_pos++];
                if (b == '\n')
                {
                    if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                    return Encoding.Latin1.GetString(line.ToArray());
                }
                if (line.Count >= maxLength + 1)
                    throw new NatException(NatError.ResponseTooLarge, $"HTTP line longer than {maxLength} bytes");
                line.Add(b);
            }
        }

        public async ValueTask ReadExactlyAsync(Memory<byte> destination, CancellationToken ct)
        {
            while (destination.Length > 0)
            {
                if (_pos == _len && !await FillAsync(ct).ConfigureAwait(false))
                    throw Malformed("connection closed before the end of the body");
                var n = Math.Min(destination.Length, _len - _pos);
                _buffer.AsMemory(_pos, n).CopyTo(destination);
                _pos += n;
                destination = destination[n..];
            }
        }

        public async ValueTask<byte[]> ReadToEndAsync(int max, CancellationToken ct)
        {
            using var ms = new MemoryStream();
            while (true)
            {
                if (_pos == _len && !await FillAsync(ct).ConfigureAwait(false)) return ms.ToArray();
                var n = _len - _pos;
                if (ms.Length + n > max)
                    throw new NatException(NatError.ResponseTooLarge, $"HTTP body exceeds the {max}-byte limit");
                ms.Write(_buffer, _pos, n);
                _pos = _len;
            }
        }
    }
}
