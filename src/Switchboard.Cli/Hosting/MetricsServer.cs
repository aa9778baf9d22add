using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// The node's metrics: OpenTelemetry's SDK reads the Switch's meter (<c>Switchboard.P2P</c>: CometBFT's
/// <c>cometbft_p2p_*</c> names plus <c>switchboard_p2p_*</c>) and serves Prometheus text at <c>/metrics</c> on
/// <c>instrumentation.prometheus_listen_addr</c> (Kestrel), and/or pushes OTLP to <c>switchboard.otlp_endpoint</c>.
/// The Switch's meter comes from this server's <see cref="IMeterFactory"/>.
/// </summary>
internal sealed class MetricsServer : IAsyncDisposable
{
    /// <summary>
    /// The meter the Switch records on, by the name the library documents (<see cref="SwitchOptions.MeterFactory"/>), as
    /// any OpenTelemetry user of the library names it: the CLI needs no access to the library's internals.
    /// Tests/Cli/ConsistencyTests pins it to the library's own constant.
    /// </summary>
    public const string SwitchMeterName = "Switchboard.P2P";

    private readonly WebApplication? _app;
    private readonly MeterProvider? _provider;
    private readonly ServiceProvider? _services;

    private MetricsServer(WebApplication? app, MeterProvider? provider, ServiceProvider? services, IMeterFactory meterFactory)
    {
        _app = app;
        _provider = provider;
        _services = services;
        MeterFactory = meterFactory;
    }

    /// <summary>Where the Switch's meter is made.</summary>
    public IMeterFactory MeterFactory { get; }

    /// <summary>The Prometheus endpoint, e.g. <c>http://127.0.0.1:26660/metrics</c>; null when only OTLP is pushed.</summary>
    public Uri? ScrapeAddress { get; private set; }

    /// <summary>Serves Prometheus on <paramref name="prometheus"/> (if given) and pushes OTLP to <paramref name="otlp"/> (if given).</summary>
    public static async Task<MetricsServer> StartAsync(string nodeId, IPEndPoint? prometheus, Uri? otlp, int maxOpenConnections,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        void Configure(MeterProviderBuilder metrics)
        {
            // target_info{service_name="switchboard",service_instance_id="<node ID>"} names the node in every export.
            metrics.ConfigureResource(r => r.AddService("switchboard", serviceInstanceId: nodeId));
            metrics.AddMeter(SwitchMeterName);
            if (prometheus is not null) metrics.AddPrometheusExporter();
            if (otlp is not null) metrics.AddOtlpExporter(o => o.Endpoint = otlp);
        }

        if (prometheus is null)
        {
            // OTLP only: no web server, a plain service provider for the meter factory.
            var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            var builder = Sdk.CreateMeterProviderBuilder();
            Configure(builder);
            return new MetricsServer(null, builder.Build(), services, services.GetRequiredService<IMeterFactory>());
        }

        var web = WebApplication.CreateSlimBuilder();
        web.WebHost.UseKestrel(o =>
        {
            o.Listen(prometheus);
            // CometBFT's max_open_connections: simultaneous scrapers (0 = unlimited).
            if (maxOpenConnections > 0) o.Limits.MaxConcurrentConnections = maxOpenConnections;
        });
        web.Logging.ClearProviders();
        web.Logging.AddProvider(new CommandHost.ForwardingLoggerProvider(loggerFactory));
        web.Logging.AddFilter("Microsoft", LogLevel.Warning);
        web.Services.AddSingleton<IHostLifetime, CommandHost.NoSignalsLifetime>();
        web.Services.AddMetrics();
        web.Services.AddOpenTelemetry().WithMetrics(Configure);
        var app = web.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var server = new MetricsServer(app, null, null, app.Services.GetRequiredService<IMeterFactory>());
        if (app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } bound)
            server.ScrapeAddress = new Uri(new Uri(bound), "/metrics");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        _provider?.Dispose(); // flushes a last OTLP export
        if (_services is not null) await _services.DisposeAsync().ConfigureAwait(false);
    }
}
