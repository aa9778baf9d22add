using System.Diagnostics;
using System.Diagnostics.Metrics;
using Switchboard.Conn;
using Switchboard.Peers;

namespace Switchboard;

/// <summary>
/// A Switch's System.Diagnostics.Metrics instruments, named after CometBFT's p2p metrics where one exists
/// (<c>cometbft_p2p_*</c>) and <c>switchboard_p2p_*</c> otherwise. One meter per Switch, from the
/// <see cref="SwitchOptions.MeterFactory"/> when given (so hosts and tests see each Switch apart), tagged with the
/// node ID. Per-message updates cost a check of <see cref="Instrument.Enabled"/> when nobody listens.
/// </summary>
internal sealed class SwitchMetrics : IDisposable
{
    /// <summary>The meter name; listeners and exporters subscribe to it.</summary>
    public const string MeterName = "Switchboard.P2P";

    /// <summary>"0x00" … "0xff", made once: a channel tag costs no string per message.</summary>
    private static readonly string[] s_channelTags = Enumerable.Range(0, 256).Select(i => $"0x{i:x2}").ToArray();

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _receiveBytes;
    private readonly Counter<long> _sendBytes;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _droppedBytes;
    private readonly Counter<long> _disconnects;
    private readonly UpDownCounter<int> _peers;

    public SwitchMetrics(IMeterFactory? factory, string nodeId, Func<IReadOnlyList<IPeer>> peers, SharedBufferPool pool)
    {
        var tags = new[] { new KeyValuePair<string, object?>("node_id", nodeId) };
        if (factory is not null)
        {
            _meter = factory.Create(new MeterOptions(MeterName) { Tags = tags });
        }
        else
        {
            _meter = new Meter(MeterName, null, tags);
            _ownsMeter = true;
        }
        _peers = _meter.CreateUpDownCounter<int>("cometbft_p2p_peers", description: "Number of connected peers");
        _receiveBytes = _meter.CreateCounter<long>("cometbft_p2p_peer_receive_bytes_total", "By",
            "Bytes of complete messages received from a peer, by peer and channel");
        _sendBytes = _meter.CreateCounter<long>("cometbft_p2p_peer_send_bytes_total", "By",
            "Bytes of messages queued to a peer, by peer and channel");
        _meter.CreateObservableGauge("cometbft_p2p_peer_pending_send_bytes", () => PendingSend(peers()), "By",
            "Bytes queued to a peer and not yet written, by peer");
        _dropped = _meter.CreateCounter<long>("switchboard_p2p_messages_dropped_total", description:
            "Inbound messages dropped because a drop-newest channel's budget was full, by channel and reason");
        _droppedBytes = _meter.CreateCounter<long>("switchboard_p2p_dropped_bytes_total", "By",
            "Bytes of the dropped inbound messages, by channel");
        _disconnects = _meter.CreateCounter<long>("switchboard_p2p_disconnects_total", description: "Peers removed, by reason and side");
        _meter.CreateObservableGauge("switchboard_p2p_buffered_bytes", () => Buffered(peers()), "By",
            "Bytes held for peers (inbound queues, reassembly, send queues), by peer");
        _meter.CreateObservableGauge("switchboard_p2p_shared_buffer_bytes", () => pool.Used, "By",
            "Bytes of the node-wide inbound pool in use");
        _meter.CreateObservableGauge("switchboard_p2p_paused_peers", () => peers().Count(p => p is Peer { Connection: { } c } && c.GetStatus().ReadPaused),
            description: "Peers whose reads are paused by a full back-pressure channel");
    }

    public Meter Meter => _meter;

    public void PeerAdded() => _peers.Add(1);

    public void PeerRemoved(DisconnectReason reason)
    {
        _peers.Add(-1);
        if (_disconnects.Enabled)
            _disconnects.Add(1, new KeyValuePair<string, object?>("reason", reason.Kind.ToString()),
                new KeyValuePair<string, object?>("side", reason.ByRemote ? "remote" : "local"));
    }

    public void MessageReceived(Peer peer, byte channelId, int bytes)
    {
        if (!_receiveBytes.Enabled) return;
        _receiveBytes.Add(bytes, new KeyValuePair<string, object?>("peer_id", peer.IdTag),
            new KeyValuePair<string, object?>("chID", s_channelTags[channelId]));
    }

    public void MessageSent(Peer peer, byte channelId, int bytes)
    {
        if (!_sendBytes.Enabled) return;
        _sendBytes.Add(bytes, new KeyValuePair<string, object?>("peer_id", peer.IdTag),
            new KeyValuePair<string, object?>("chID", s_channelTags[channelId]));
    }

    public void Dropped(byte channelId, long bytes)
    {
        var channel = new KeyValuePair<string, object?>("chID", s_channelTags[channelId]);
        if (_dropped.Enabled) _dropped.Add(1, channel, new KeyValuePair<string, object?>("reason", "budget_full"));
        if (_droppedBytes.Enabled) _droppedBytes.Add(bytes, channel);
    }

    private static IEnumerable<Measurement<long>> PendingSend(IReadOnlyList<IPeer> peers)
    {
        foreach (var p in peers)
            if (p is Peer { Connection: { } c } peer)
                yield return new Measurement<long>(c.Budget.Send, new KeyValuePair<string, object?>("peer_id", peer.IdTag));
    }

    private static IEnumerable<Measurement<long>> Buffered(IReadOnlyList<IPeer> peers)
    {
        foreach (var p in peers)
            if (p is Peer { Connection: { } c } peer)
                yield return new Measurement<long>(c.Budget.Used, new KeyValuePair<string, object?>("peer_id", peer.IdTag));
    }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
