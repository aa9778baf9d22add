using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// CometBFT's JSON-RPC responses for <c>/net_info</c>, <c>/status</c> and <c>/health</c>, in CometBFT's encoding
/// (checked against a capture from CometBFT v0.38.25): a <c>{"jsonrpc":"2.0","id":-1,"result":…}</c> envelope,
/// 64-bit integers and nanosecond durations as strings, NodeInfo channels as one hex string, and the Go field
/// names CometBFT leaks for a connection's status (<c>Duration</c>, <c>SendMonitor</c>, <c>Channels[].ID</c> as a
/// number). Written with <see cref="Utf8JsonWriter"/> because the names mix snake_case and Go's PascalCase.
/// </summary>
internal static class StatusJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A peer's traffic as the API reports it; rates come from the caller's sampling.</summary>
    public sealed record PeerTraffic(IPeer Peer, MConnectionStatus Status, Rates Send, Rates Receive);

    /// <summary>Bytes per second: since the connection started, since the previous sample, and the highest sample.</summary>
    public readonly record struct Rates(long Average, long Current, long Peak, long Samples);

    public static byte[] NetInfo(bool listening, IReadOnlyList<string> listeners, IReadOnlyList<PeerTraffic> peers) => Envelope(w =>
    {
        w.WriteBoolean("listening", listening);
        w.WriteStartArray("listeners");
        foreach (var l in listeners) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteString("n_peers", Int(peers.Count));
        w.WriteStartArray("peers");
        foreach (var p in peers)
        {
            w.WriteStartObject();
            w.WritePropertyName("node_info");
            WriteNodeInfo(w, p.Peer.NodeInfo);
            w.WriteBoolean("is_outbound", p.Peer.IsOutbound);
            w.WriteStartObject("connection_status");
            w.WriteString("Duration", Nanos(p.Status.Duration));
            WriteMonitor(w, "SendMonitor", p.Peer.ConnectedAt, p.Status.Duration, p.Status.BytesSent, p.Send);
            WriteMonitor(w, "RecvMonitor", p.Peer.ConnectedAt, p.Status.Duration, p.Status.BytesReceived, p.Receive);
            w.WriteStartArray("Channels");
            foreach (var c in p.Status.Channels)
            {
                w.WriteStartObject();
                w.WriteNumber("ID", c.Id); // a number in CometBFT's JSON (Go byte), unlike the int64 fields
                w.WriteString("SendQueueCapacity", Int(c.SendQueueCapacity));
                w.WriteString("SendQueueSize", Int(c.SendQueueSize));
                w.WriteString("Priority", Int(c.Priority));
                w.WriteString("RecentlySent", Int(c.RecentlySent));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteString("remote_ip", p.Peer.RemoteIp.ToString());
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    /// <summary>
    /// <c>/status</c>: our NodeInfo, an empty <c>sync_info</c> (a p2p node has no blocks) and the node key as
    /// <c>validator_info</c> with voting power 0.
    /// </summary>
    public static byte[] Status(NodeInfo nodeInfo, ReadOnlyMemory<byte> publicKey) => Envelope(w =>
    {
        w.WritePropertyName("node_info");
        WriteNodeInfo(w, nodeInfo);
        w.WriteStartObject("sync_info");
        w.WriteString("latest_block_hash", "");
        w.WriteString("latest_app_hash", "");
        w.WriteString("latest_block_height", "0");
        w.WriteString("latest_block_time", "1970-01-01T00:00:00Z");
        w.WriteString("earliest_block_hash", "");
        w.WriteString("earliest_app_hash", "");
        w.WriteString("earliest_block_height", "0");
        w.WriteString("earliest_block_time", "1970-01-01T00:00:00Z");
        w.WriteBoolean("catching_up", false);
        w.WriteEndObject();
        w.WriteStartObject("validator_info");
        w.WriteString("address", nodeInfo.Id.ToString().ToUpperInvariant()); // CometBFT's address: the same 20 bytes, upper-case hex
        w.WriteStartObject("pub_key");
        w.WriteString("type", "tendermint/PubKeyEd25519");
        w.WriteString("value", Convert.ToBase64String(publicKey.Span));
        w.WriteEndObject();
        w.WriteString("voting_power", "0");
        w.WriteEndObject();
    });

    public static byte[] Health() => Envelope(_ => { });

    /// <summary>CometBFT's error envelope, e.g. for an unknown method.</summary>
    public static byte[] Error(int code, string message, string data)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WriteNumber("id", -1);
            w.WriteStartObject("error");
            w.WriteNumber("code", code);
            w.WriteString("message", message);
            w.WriteString("data", data);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static byte[] Envelope(Action<Utf8JsonWriter> writeResult)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WriteNumber("id", -1);
            w.WriteStartObject("result");
            writeResult(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteNodeInfo(Utf8JsonWriter w, NodeInfo info)
    {
        w.WriteStartObject();
        w.WriteStartObject("protocol_version");
        w.WriteString("p2p", Int(info.ProtocolVersion.P2P));
        w.WriteString("block", Int(info.ProtocolVersion.Block));
        w.WriteString("app", Int(info.ProtocolVersion.App));
        w.WriteEndObject();
        w.WriteString("id", info.Id.ToString());
        w.WriteString("listen_addr", info.ListenAddr);
        w.WriteString("network", info.Network);
        w.WriteString("version", info.Version);
        w.WriteString("channels", Convert.ToHexStringLower(info.Channels.Span));
        w.WriteString("moniker", info.Moniker);
        w.WriteStartObject("other");
        w.WriteString("tx_index", info.TxIndex);
        w.WriteString("rpc_address", info.RpcAddress);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    // CometBFT's flowrate.Status. Switchboard counts bytes per connection rather than running a flowrate monitor:
    // AvgRate is over the connection's life, CurRate/InstRate over the time since the previous request (the first
    // request reports the average), PeakRate the highest such sample; Idle, BytesRem and TimeRem are not tracked (0).
    private static void WriteMonitor(Utf8JsonWriter w, string name, DateTimeOffset start, TimeSpan duration, long bytes, Rates rates)
    {
        w.WriteStartObject(name);
        w.WriteString("Start", start.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture));
        w.WriteString("Bytes", Int(bytes));
        w.WriteString("Samples", Int(rates.Samples));
        w.WriteString("InstRate", Int(rates.Current));
        w.WriteString("CurRate", Int(rates.Current));
        w.WriteString("AvgRate", Int(rates.Average));
        w.WriteString("PeakRate", Int(rates.Peak));
        w.WriteString("BytesRem", "0");
        w.WriteString("Duration", Nanos(duration));
        w.WriteString("Idle", "0");
        w.WriteString("TimeRem", "0");
        w.WriteNumber("Progress", 0);
        w.WriteBoolean("Active", true);
        w.WriteEndObject();
    }

    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Int(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A Go time.Duration in JSON: nanoseconds, as a string (amino/cmtjson encodes int64 as strings).</summary>
    private static string Nanos(TimeSpan duration) => (duration.Ticks * 100).ToString(CultureInfo.InvariantCulture);
}
