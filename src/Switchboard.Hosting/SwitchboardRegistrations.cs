using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Transport;

namespace Switchboard.Hosting;

/// <summary>What the builder collected, read once when the Switch is created.</summary>
internal sealed class SwitchboardRegistrations
{
    public List<Func<IServiceProvider, Reactor>> Reactors { get; } = [];

    public List<ChannelDescriptor> Channels { get; } = [];

    public List<Func<SwitchOptions, SwitchOptions>> SwitchConfigurators { get; } = [];

    public Func<IServiceProvider, NodeKey, ITransport>? TransportFactory { get; set; }
}
