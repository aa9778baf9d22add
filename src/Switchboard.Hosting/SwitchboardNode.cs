using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Crypto;
using Switchboard.Transport;

namespace Switchboard.Hosting;

/// <summary>
/// The container's one Switch with its agent channels, made on first use from the validated options, the registered
/// reactors and channels, and the host's <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/>.
/// </summary>
/// <remarks>Not disposable itself: the container disposes the <see cref="Switch"/> (and then the
/// <see cref="NodeKey"/>) it handed out, in reverse order of creation.</remarks>
internal sealed class SwitchboardNode
{
    private readonly Dictionary<byte, AgentChannel> _channels = [];

    public SwitchboardNode(IServiceProvider services, IOptions<SwitchboardNodeOptions> options, SwitchboardRegistrations registrations)
    {
        var settings = options.Value;
        var key = services.GetRequiredService<NodeKey>();
        var loggerFactory = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        var switchOptions = settings.ToSwitchOptions() with { MeterFactory = services.GetService<IMeterFactory>() };
        foreach (var configure in registrations.SwitchConfigurators) switchOptions = configure(switchOptions);
        var transport = registrations.TransportFactory?.Invoke(services, key)
            ?? new TcpTransport(key, settings.ToTransportOptions(), loggerFactory.CreateLogger("Switchboard.Transport"));
        ListenEndPoint = settings.ParseListenEndPoint();
        Switch = new Switch(transport, key, switchOptions, loggerFactory);
        foreach (var reactor in registrations.Reactors) Switch.AddReactor(reactor(services));
        foreach (var descriptor in registrations.Channels) _channels[descriptor.Id] = Switch.OpenChannel(descriptor);
    }

    public Switch Switch { get; }

    public System.Net.IPEndPoint? ListenEndPoint { get; }

    public AgentChannel Channel(byte id) => _channels.TryGetValue(id, out var channel)
        ? channel
        : throw new InvalidOperationException($"no agent channel 0x{id:x2} was registered with AddAgentChannel");

    /// <summary>Loads or makes the node key per <see cref="SwitchboardNodeOptions.NodeKeyFile"/>.</summary>
    public static NodeKey LoadKey(IOptions<SwitchboardNodeOptions> options) =>
        string.IsNullOrEmpty(options.Value.NodeKeyFile) ? NodeKey.Generate() : NodeKey.LoadOrGenerate(options.Value.NodeKeyFile);
}
