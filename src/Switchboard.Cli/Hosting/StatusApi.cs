using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Crypto;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// The node's status API on CometBFT's <c>[rpc] laddr</c>: <c>GET /net_info</c>, <c>/status</c> and
/// <c>/health</c> with CometBFT's JSON-RPC shapes (<see cref="StatusJson"/>), so scripts and dashboards written for a
/// CometBFT node work against a Switchboard node. Served by Kestrel. Read-only and unauthenticated, like CometBFT's
/// RPC: keep it on loopback (the default, 127.0.0.1:26657).
/// </summary>
internal sealed class StatusApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NodeHost _node;
    private readonly object _gate = new();
    // The previous sample of each peer's byte counters, for CurRate/PeakRate (see StatusJson.WriteMonitor).
    private readonly Dictionary<NodeId, Sample> _samples = [];

    private readonly record struct Sample(TimeSpan At, long Sent, long Received, long Samples, long CurrentSend, long CurrentReceive,
        long PeakSend, long PeakReceive);

    /// <summary>1 s: a rate over a shorter interval (two requests in a row) is noise; the previous sample stands.</summary>
    private static readonly TimeSpan MinSampleInterval = TimeSpan.FromSeconds(1);

    private StatusApi(WebApplication app, NodeHost node)
    {
        _app = app;
        _node = node;
    }

    /// <summary>The base address it serves on, e.g. <c>http://127.0.0.1:26657</c> (the bound port when 0 was asked).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Binds <paramref name="endpoint"/> and starts serving; a port in use is a <see cref="IOException"/> from Kestrel.</summary>
    public static async Task<StatusApi> StartAsync(NodeHost node, IPEndPoint endpoint, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(endpoint));
        // Our lines go through the command's logging; ASP.NET's own start-up chatter is left out (Warning and up only).
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new CommandHost.ForwardingLoggerProvider(loggerFactory));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // `start` handles Ctrl-C and SIGTERM itself (to stop the Switch first); the web host must not.
        builder.Services.AddSingleton<IHostLifetime, CommandHost.NoSignalsLifetime>();
        var app = builder.Build();
        var api = new StatusApi(app, node);
        app.MapGet("/net_info", (HttpContext http) => api.Json(http, api.NetInfo()));
        app.MapGet("/status", (HttpContext http) => api.Json(http, StatusJson.Status(node.Switch.NodeInfo!, node.Key.PublicKey)));
        app.MapGet("/health", (HttpContext http) => api.Json(http, StatusJson.Health()));
        app.MapFallback((HttpContext http) =>
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return api.Json(http, StatusJson.Error(-32601, "Method not found", $"{http.Request.Path}: Switchboard serves /net_info, /status and /health"));
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (bound is not null) api.Address = new Uri(bound);
        return api;
    }

    private Task Json(HttpContext http, byte[] body)
    {
        http.Response.ContentType = "application/json";
        return http.Response.Body.WriteAsync(body).AsTask();
    }

    private byte[] NetInfo()
    {
        var sw = _node.Switch;
        var peers = new List<StatusJson.PeerTraffic>();
        lock (_gate)
        {
            var seen = new HashSet<NodeId>();
            foreach (var peer in sw.Peers)
            {
                var status = peer.GetStatus();
                seen.Add(peer.Id);
                var seconds = Math.Max(status.Duration.TotalSeconds, 0.001);
                var averageSend = (long)(status.BytesSent / seconds);
                var averageReceive = (long)(status.BytesReceived / seconds);
                Sample sample;
                if (!_samples.TryGetValue(peer.Id, out var previous))
                {
                    sample = new Sample(status.Duration, status.BytesSent, status.BytesReceived, 1, averageSend, averageReceive, averageSend, averageReceive);
                }
                else if (status.Duration - previous.At < MinSampleInterval)
                {
                    sample = previous;
                }
                else
                {
                    var interval = (status.Duration - previous.At).TotalSeconds;
                    var currentSend = (long)((status.BytesSent - previous.Sent) / interval);
                    var currentReceive = (long)((status.BytesReceived - previous.Received) / interval);
                    sample = new Sample(status.Duration, status.BytesSent, status.BytesReceived, previous.Samples + 1, currentSend, currentReceive,
                        Math.Max(currentSend, previous.PeakSend), Math.Max(currentReceive, previous.PeakReceive));
                }
                _samples[peer.Id] = sample;
                var (samples, currentSend2, currentReceive2, peakSend, peakReceive) =
                    (sample.Samples, sample.CurrentSend, sample.CurrentReceive, sample.PeakSend, sample.PeakReceive);
                peers.Add(new StatusJson.PeerTraffic(peer, status,
                    new StatusJson.Rates(averageSend, currentSend2, peakSend, samples),
                    new StatusJson.Rates(averageReceive, currentReceive2, peakReceive, samples)));
            }
            foreach (var gone in _samples.Keys.Where(id => !seen.Contains(id)).ToList()) _samples.Remove(gone);
        }
        var listeners = sw.NodeInfo is { } info ? new[] { $"Listener(@{info.ListenAddr})" } : [];
        return StatusJson.NetInfo(sw.ListenAddress is not null, listeners, peers);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
