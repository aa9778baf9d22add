using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Crypto;

namespace Switchboard.Hosting;

/// <summary>Registers a Switchboard node with a host: <c>builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"))</c>.</summary>
public static class SwitchboardServiceCollectionExtensions
{
    /// <summary>
    /// Registers one node whose <see cref="SwitchboardNodeOptions"/> are bound from <paramref name="configuration"/>
    /// (a section such as <c>"Switchboard"</c>: <c>Network</c>, <c>ListenAddress</c>, <c>PersistentPeers:0</c>, …) and
    /// validated when the host starts.
    /// </summary>
    public static ISwitchboardBuilder AddSwitchboard(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = AddCore(services);
        services.AddOptions<SwitchboardNodeOptions>().Bind(configuration);
        return builder;
    }

    /// <summary>Registers one node configured in code (validated when the host starts, like bound options).</summary>
    public static ISwitchboardBuilder AddSwitchboard(this IServiceCollection services, Action<SwitchboardNodeOptions>? configure = null)
    {
        var builder = AddCore(services);
        if (configure is not null) services.AddOptions<SwitchboardNodeOptions>().Configure(configure);
        return builder;
    }

    private static SwitchboardBuilder AddCore(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(SwitchboardRegistrations)))
            throw new InvalidOperationException("AddSwitchboard was already called: a container holds one node");
        var registrations = new SwitchboardRegistrations();
        services.AddSingleton(registrations);
        services.AddOptions<SwitchboardNodeOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SwitchboardNodeOptions>, SwitchboardNodeOptionsValidator>());
        services.AddSingleton(sp => SwitchboardNode.LoadKey(sp.GetRequiredService<IOptions<SwitchboardNodeOptions>>()));
        services.AddSingleton<SwitchboardNode>();
        services.AddSingleton(sp => sp.GetRequiredService<SwitchboardNode>().Switch);
        services.AddHostedService<SwitchboardHostedService>();
        return new SwitchboardBuilder(services, registrations);
    }
}

/// <summary>Lookups of what AddSwitchboard registered.</summary>
public static class SwitchboardServiceProviderExtensions
{
    /// <summary>The agent channel registered with <see cref="ISwitchboardBuilder.AddAgentChannel"/> for <paramref name="channelId"/>.</summary>
    /// <exception cref="InvalidOperationException">No such channel was registered.</exception>
    public static AgentChannel GetRequiredAgentChannel(this IServiceProvider services, byte channelId) =>
        services.GetKeyedService<AgentChannel>(channelId)
        ?? throw new InvalidOperationException($"no agent channel 0x{channelId:x2} was registered with AddAgentChannel");
}
