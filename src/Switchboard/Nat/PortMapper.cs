using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Switchboard.Nat;

/// <summary>What happened to a mapping, reported by <see cref="PortMapper.MappingChanged"/>.</summary>
public enum PortMappingEvent
{
    /// <summary>The lease was renewed; the external endpoint is unchanged.</summary>
    Renewed,
    /// <summary>The lease was renewed but the external address or port changed: advertise the new one.</summary>
    ExternalEndpointChanged,
    /// <summary>A renewal failed; the old lease is still valid and the renewal is retried.</summary>
    RenewalFailed,
    /// <summary>Renewals kept failing until the lease ran out: the mapping is probably gone. Retries continue.</summary>
    Expired,
}

/// <summary>Arguments of <see cref="PortMapper.MappingChanged"/>.</summary>
public sealed class PortMappingChangedEventArgs(PortMappingEvent kind, IPEndPoint externalEndpoint, NatException? error) : EventArgs
{
    /// <summary>What happened.</summary>
    public PortMappingEvent Kind { get; } = kind;

    /// <summary>The external endpoint after the event.</summary>
    public IPEndPoint ExternalEndpoint { get; } = externalEndpoint;

    /// <summary>The renewal error for <see cref="PortMappingEvent.RenewalFailed"/> and <see cref="PortMappingEvent.Expired"/>.</summary>
    public NatException? Error { get; } = error;
}

/// <summary>
/// Keeps one TCP port mapped on the NAT gateway: maps it with NAT-PMP or UPnP IGD (see
/// <see cref="PortMapperOptions.Protocols"/>), renews it at half the lease, and removes it on dispose. A node reads
/// <see cref="ExternalEndpoint"/> to advertise its listen address and subscribes to <see cref="MappingChanged"/>.
/// </summary>
/// <example>
/// <code>
/// await using var mapper = await PortMapper.StartAsync(26656, new PortMapperOptions { Lease = TimeSpan.FromHours(1) });
/// Console.WriteLine($"reachable at {mapper.ExternalEndpoint} via {mapper.Protocol}");
/// </code>
/// </example>
public sealed class PortMapper : IAsyncDisposable
{
    private readonly IMappingBackend _backend;
    private readonly PortMapperOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewLoop;
    private readonly object _gate = new();
    private IPEndPoint _external;
    private DateTimeOffset? _expiresAt;
    private TimeSpan _lifetime;
    private DateTimeOffset _grantedAt;
    private int _disposed;

    private PortMapper(IMappingBackend backend, PortMapperOptions options, ILogger logger, int internalPort, IPEndPoint external, TimeSpan lifetime, bool isPublic)
    {
        _backend = backend;
        _options = options;
        _logger = logger;
        InternalPort = internalPort;
        _external = external;
        ExternalAddressIsPublic = isPublic;
        SetLease(lifetime);
        _renewLoop = RenewLoopAsync();
    }

    /// <summary>The local TCP port that is mapped.</summary>
    public int InternalPort { get; }

    /// <summary>The protocol that made the mapping.</summary>
    public NatProtocol Protocol => _backend.Protocol;

    /// <summary>The gateway: its NAT-PMP address, or its UPnP description URL.</summary>
    public string Gateway => _backend.Gateway;

    /// <summary>The address and port peers on the internet connect to (advertise it as <c>listen_addr</c>).</summary>
    public IPEndPoint ExternalEndpoint { get { lock (_gate) return _external; } }

    /// <summary>False when the gateway's external address is private/reserved (only possible with <see cref="PortMapperOptions.AllowNonPublicExternalAddress"/>).</summary>
    public bool ExternalAddressIsPublic { get; private set; }

    /// <summary>When the current lease ends; null for a permanent mapping (a gateway that only supports lease 0).</summary>
    public DateTimeOffset? LeaseExpiresAt { get { lock (_gate) return _expiresAt; } }

    /// <summary>How many renewals succeeded.</summary>
    public int Renewals { get; private set; }

    /// <summary>The last renewal error, cleared by a successful renewal.</summary>
    public NatException? LastError { get; private set; }

    /// <summary>
    /// Raised after each renewal attempt (on the renewal loop, never on a caller's thread). Handlers must be quick;
    /// an exception from a handler is logged and ignored.
    /// </summary>
    public event EventHandler<PortMappingChangedEventArgs>? MappingChanged;

    /// <summary>
    /// Maps TCP <paramref name="internalPort"/> on the gateway, preferring the same external port. Throws
    /// <see cref="NatException"/> when no protocol succeeds; its message lists each protocol's failure and
    /// <see cref="NatException.Error"/> is that of the last protocol tried (e.g. <see cref="NatError.NoGatewayFound"/>).
    /// </summary>
    public static async Task<PortMapper> StartAsync(int internalPort, PortMapperOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(internalPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(internalPort, 65535);
        options ??= new PortMapperOptions();
        options.Validate();
        var logger = options.LoggerFactory?.CreateLogger<PortMapper>() ?? (ILogger)NullLogger.Instance;
        var failures = new List<NatException>();
        foreach (var protocol in options.Protocols.Distinct())
        {
            try
            {
                var backend = protocol == NatProtocol.NatPmp
                    ? NatPmpBackend.Create(options.Network, options.Gateway, options.NatPmpMaxAttempts)
                    : (IMappingBackend)await UpnpBackend.DiscoverAsync(options.Network, options.LocalAddress, options.DiscoveryTimeout,
                        options.DiscoverySettleTime, options.RequestTimeout, options.Description, options.UpnpPortAttempts, cancellationToken).ConfigureAwait(false);
                var address = await backend.GetExternalAddressAsync(cancellationToken).ConfigureAwait(false);
                var isPublic = AddressClass.IsPublic(address);
                if (!isPublic)
                {
                    if (!options.AllowNonPublicExternalAddress)
                        throw new NatException(NatError.GatewayBehindNat,
                            $"{protocol}: the gateway's external address {address} is private or reserved (the gateway is itself behind NAT)");
                    NatLog.BehindNat(logger, address);
                }
                var (port, lifetime) = await backend.MapAsync(internalPort, internalPort, options.Lease, cancellationToken).ConfigureAwait(false);
                var external = new IPEndPoint(address, port);
                NatLog.Mapped(logger, external, internalPort, protocol, backend.Gateway, lifetime);
                return new PortMapper(backend, options, logger, internalPort, external, lifetime, isPublic);
            }
            catch (NatException ex)
            {
                NatLog.ProtocolFailed(logger, protocol, internalPort, ex.Message);
                failures.Add(ex);
            }
        }
        var last = failures[^1];
        throw new NatException(last.Error, "port mapping failed: " + string.Join("; ", failures.Select(f => f.Message)), new AggregateException(failures));
    }

    private void SetLease(TimeSpan lifetime)
    {
        lock (_gate)
        {
            _lifetime = lifetime;
            _grantedAt = _options.TimeProvider.GetUtcNow();
            _expiresAt = lifetime == TimeSpan.Zero ? null : _grantedAt + lifetime;
        }
    }

    /// <summary>
    /// Waits until <paramref name="due"/>. Renewals are scheduled at absolute times fixed when the lease was granted
    /// (or the renewal failed), so time that passes before the wait starts counts toward it.
    /// </summary>
    private static Task WaitUntilAsync(DateTimeOffset due, TimeProvider time, CancellationToken ct)
    {
        var remaining = due - time.GetUtcNow();
        return remaining > TimeSpan.Zero ? Task.Delay(remaining, time, ct) : Task.CompletedTask;
    }

    private async Task RenewLoopAsync()
    {
        await Task.Yield();
        var ct = _stop.Token;
        var time = _options.TimeProvider;
        TimeSpan lifetime;
        DateTimeOffset due;
        lock (_gate)
        {
            lifetime = _lifetime;
            due = _grantedAt + lifetime * _options.RenewAt;
        }
        if (lifetime == TimeSpan.Zero) return; // permanent mapping: nothing to renew
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await WaitUntilAsync(due, time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            PortMappingChangedEventArgs args;
            try
            {
                var before = ExternalEndpoint;
                var address = await _backend.GetExternalAddressAsync(ct).ConfigureAwait(false);
                var (port, granted) = await _backend.MapAsync(InternalPort, before.Port, _options.Lease, ct).ConfigureAwait(false);
                var after = new IPEndPoint(address, port);
                lock (_gate) _external = after;
                ExternalAddressIsPublic = AddressClass.IsPublic(address);
                SetLease(granted);
                Renewals++;
                LastError = null;
                NatLog.Renewed(_logger, after, InternalPort, granted);
                args = new PortMappingChangedEventArgs(after.Equals(before) ? PortMappingEvent.Renewed : PortMappingEvent.ExternalEndpointChanged, after, null);
                if (granted == TimeSpan.Zero) { Raise(args); return; }
                lock (_gate) due = _grantedAt + granted * _options.RenewAt;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (NatException ex)
            {
                LastError = ex;
                var expired = LeaseExpiresAt is { } exp && time.GetUtcNow() >= exp;
                NatLog.RenewFailed(_logger, ex, InternalPort, _options.RenewRetryInterval);
                due = time.GetUtcNow() + _options.RenewRetryInterval;
                args = new PortMappingChangedEventArgs(expired ? PortMappingEvent.Expired : PortMappingEvent.RenewalFailed, ExternalEndpoint, ex);
            }
            Raise(args);
        }
    }

    private void Raise(PortMappingChangedEventArgs args)
    {
        try
        {
            MappingChanged?.Invoke(this, args);
        }
#pragma warning disable CA1031 // a subscriber's bug must not stop the renewals
        catch (Exception ex)
#pragma warning restore CA1031
        {
            NatLog.HandlerFailed(_logger, ex);
        }
    }

    /// <summary>Stops renewing and deletes the mapping on the gateway (bounded by the request timeouts; failures are logged).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewLoop.ConfigureAwait(false);
        var external = ExternalEndpoint;
        try
        {
            await _backend.UnmapAsync(InternalPort, external.Port, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NatException ex)
        {
            NatLog.UnmapFailed(_logger, ex, external);
        }
        _stop.Dispose();
    }
}
