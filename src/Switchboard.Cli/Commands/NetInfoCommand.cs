using System.CommandLine;
using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using Switchboard.Cli.Config;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard net-info [--rpc URL] [--json]</c>: asks a running node's status API (Switchboard's or CometBFT's
/// RPC: same shape) for <c>/net_info</c> and prints its peers as a table, or the response as it came with
/// <c>--json</c>. Exit 1 when the node cannot be reached or answers with an error.
/// </summary>
internal static class NetInfoCommand
{
    public const string DefaultRpc = "http://127.0.0.1:26657";

    public static Command Create(CliEnvironment environment)
    {
        var rpc = new Option<string>("--rpc")
        {
            Description = $"The node's RPC address: http://HOST:PORT or tcp://HOST:PORT (its rpc.laddr; default {DefaultRpc})",
            DefaultValueFactory = _ => DefaultRpc,
        };
        var json = CommandSupport.Json();
        var timeout = CommandSupport.Timeout(TimeSpan.FromSeconds(10), "How long to wait for the answer");
        var command = new Command("net-info", "Print a running node's peers from its status API (/net_info), like CometBFT's RPC");
        foreach (var o in new Option[] { rpc, json, timeout }) command.Options.Add(o);
        CommandSupport.SetAction(command, environment, async context =>
        {
            var baseUri = ParseRpc(context.Get(rpc));
            var url = new Uri(baseUri, "net_info");
            using var http = new HttpClient { Timeout = context.Get(timeout) ?? TimeSpan.FromSeconds(10) };
            string body;
            try
            {
                using var response = await http.GetAsync(url, context.CancellationToken);
                body = await response.Content.ReadAsStringAsync(context.CancellationToken);
                if (!response.IsSuccessStatusCode && !body.TrimStart().StartsWith('{'))
                {
                    await context.Error.WriteLineAsync($"error: {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                    return ExitCodes.Failure;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                var why = ex is TaskCanceledException ? "no answer in time" : ex.Message;
                await context.Error.WriteLineAsync($"error: {url}: {why} (is the node running with its status API on? see rpc.laddr)");
                return ExitCodes.Failure;
            }
            if (context.Get(json))
            {
                await context.Out.WriteLineAsync(body.TrimEnd());
                return ExitCodes.Ok;
            }
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.TryGetProperty("error", out var error))
                {
                    await context.Error.WriteLineAsync($"error: {url}: {error.GetProperty("message").GetString()} ({error.GetProperty("data").GetString()})");
                    return ExitCodes.Failure;
                }
                Print(doc.RootElement.GetProperty("result"), context.Out);
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                await context.Error.WriteLineAsync($"error: {url}: not a /net_info answer ({ex.Message})");
                return ExitCodes.Failure;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Uri ParseRpc(string text)
    {
        var s = text.Trim();
        if (s.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)) s = "http://" + s[6..];
        if (!s.Contains("://", StringComparison.Ordinal)) s = "http://" + s;
        if (!Uri.TryCreate(s.EndsWith('/') ? s : s + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ConfigException($"--rpc: \"{text}\" is not http://HOST:PORT");
        return uri;
    }

    private static void Print(JsonElement result, TextWriter output)
    {
        var listeners = string.Join(", ", result.GetProperty("listeners").EnumerateArray().Select(l => l.GetString()));
        var count = long.Parse(result.GetProperty("n_peers").GetString()!, CultureInfo.InvariantCulture);
        output.WriteLine($"listening  {(result.GetProperty("listening").GetBoolean() ? "yes" : "no")} ({listeners})");
        output.WriteLine($"peers      {count}");
        if (count == 0) return;
        string[] header = ["ID", "DIR", "ADDRESS", "MONIKER", "NETWORK", "VERSION", "CHANNELS", "UP", "SENT", "RECEIVED", "SEND/S", "RECV/S"];
        var rows = new List<string[]>();
        foreach (var peer in result.GetProperty("peers").EnumerateArray())
        {
            var info = peer.GetProperty("node_info");
            var status = peer.GetProperty("connection_status");
            var send = status.GetProperty("SendMonitor");
            var recv = status.GetProperty("RecvMonitor");
            var up = TimeSpan.FromTicks(long.Parse(status.GetProperty("Duration").GetString()!, CultureInfo.InvariantCulture) / 100);
            rows.Add(
            [
                info.GetProperty("id").GetString()!,
                peer.GetProperty("is_outbound").GetBoolean() ? "out" : "in",
                $"{peer.GetProperty("remote_ip").GetString()} ({info.GetProperty("listen_addr").GetString()})",
                info.GetProperty("moniker").GetString()!,
                info.GetProperty("network").GetString()!,
                info.GetProperty("version").GetString()!,
                Addresses.FormatChannels(Convert.FromHexString(info.GetProperty("channels").GetString()!)),
                Duration.Format(TimeSpan.FromSeconds(Math.Floor(up.TotalSeconds))),
                Bytes(send.GetProperty("Bytes")),
                Bytes(recv.GetProperty("Bytes")),
                Bytes(send.GetProperty("CurRate")),
                Bytes(recv.GetProperty("CurRate")),
            ]);
        }
        foreach (var line in TextTable.Format(header, rows, new HashSet<int> { 7, 8, 9, 10, 11 })) output.WriteLine(line);
    }

    private static string Bytes(JsonElement value)
    {
        var bytes = long.Parse(value.GetString()!, CultureInfo.InvariantCulture);
        return bytes switch
        {
            >= 10L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB"),
            >= 10L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes >> 10} KiB"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        };
    }
}
