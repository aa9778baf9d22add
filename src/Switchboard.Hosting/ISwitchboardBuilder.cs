using Microsoft.Extensions.DependencyInjection;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Transport;

namespace Switchboard.Hosting;

/// <summary>Adds reactors, agent channels and code-only settings to the node that
/// <see cref="SwitchboardServiceCollectionExtensions.AddSwitchboard(IServiceCollection, Action{SwitchboardNodeOptions})"/> registered.</summary>
public interface ISwitchboardBuilder
{
    /// <summary>The service collection the node is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>
    /// Registers <typeparamref name="TReactor"/> as a singleton (constructed by the container, so it can take any
    /// service) and adds it to the Switch before it starts. The reactor reaches its Switch through
    /// <see cref="Reactor.Switch"/>; taking <see cref="Switch"/> in its constructor would be a cycle.
    /// </summary>
    ISwitchboardBuilder AddReactor<TReactor>() where TReactor : Reactor;

    /// <summary>Adds the reactor <paramref name="factory"/> makes (once, when the Switch is created).</summary>
    ISwitchboardBuilder AddReactor(Func<IServiceProvider, Reactor> factory);

    /// <summary>
    /// Opens a pull-style channel on the Switch. The <see cref="AgentChannel"/> is a keyed singleton under the channel
    /// ID as a <see cref="byte"/>: take it with <c>[FromKeyedServices((byte)0x77)] AgentChannel chat</c>, or
    /// <see cref="SwitchboardServiceProviderExtensions.GetRequiredAgentChannel"/>.
    /// </summary>
    ISwitchboardBuilder AddAgentChannel(ChannelDescriptor descriptor);

    /// <summary>Adjusts the <see cref="SwitchOptions"/> made from the bound options (settings configuration cannot
    /// hold: connection options, reconnect policy, a TimeProvider). Applied in the order added.</summary>
    ISwitchboardBuilder ConfigureSwitch(Func<SwitchOptions, SwitchOptions> configure);

    /// <summary>Replaces the TCP transport (e.g. with <c>new MemoryNetwork().CreateTransport(key)</c> in tests).</summary>
    ISwitchboardBuilder UseTransport(Func<IServiceProvider, NodeKey, ITransport> factory);
}
