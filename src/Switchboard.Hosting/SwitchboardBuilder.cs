using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Transport;

namespace Switchboard.Hosting;

internal sealed class SwitchboardBuilder(IServiceCollection services, SwitchboardRegistrations registrations) : ISwitchboardBuilder
{
    public IServiceCollection Services { get; } = services;

    public ISwitchboardBuilder AddReactor<TReactor>() where TReactor : Reactor
    {
        Services.TryAddSingleton<TReactor>();
        registrations.Reactors.Add(sp => sp.GetRequiredService<TReactor>());
        return this;
    }

    public ISwitchboardBuilder AddReactor(Func<IServiceProvider, Reactor> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        registrations.Reactors.Add(factory);
        return this;
    }

    public ISwitchboardBuilder AddAgentChannel(ChannelDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (registrations.Channels.Any(c => c.Id == descriptor.Id))
            throw new ArgumentException($"channel 0x{descriptor.Id:x2} is already registered", nameof(descriptor));
        registrations.Channels.Add(descriptor);
        var id = descriptor.Id;
        Services.AddKeyedSingleton<AgentChannel>(id, (sp, _) => sp.GetRequiredService<SwitchboardNode>().Channel(id));
        return this;
    }

    public ISwitchboardBuilder ConfigureSwitch(Func<SwitchOptions, SwitchOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        registrations.SwitchConfigurators.Add(configure);
        return this;
    }

    public ISwitchboardBuilder UseTransport(Func<IServiceProvider, NodeKey, ITransport> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        registrations.TransportFactory = factory;
        return this;
    }
}
