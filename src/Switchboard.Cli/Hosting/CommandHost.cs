using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Switchboard.Cli.Commands;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// The Generic Host the long-running commands (<c>start</c>, <c>testnet</c>, <c>crawl</c>) run on. Its
/// <see cref="ConsoleLifetime"/> turns Ctrl-C (SIGINT), SIGTERM and SIGQUIT into a graceful stop of the host
/// (<see cref="IHostApplicationLifetime.ApplicationStopping"/>) instead of process termination; the command's own
/// cancellation token (tests, an embedding caller) stops it the same way. The host logs through the command's
/// logger factory, so its lines have the command's level and format.
/// </summary>
/// <remarks>
/// An empty builder: no appsettings.json, environment variables or console logger of its own. The node's settings
/// are CometBFT's config.toml plus the flags (<see cref="Config.NodeConfig"/>), read strictly with line numbers in
/// errors; the host's configuration system has no place for that, so they reach the host as ready objects.
/// </remarks>
internal static class CommandHost
{
    /// <summary>
    /// A builder with the command's logging and, when <see cref="CliEnvironment.HandleSignals"/> is on, the console
    /// lifetime (its "Application started. Press Ctrl+C" lines left out: the command says what it does itself).
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(CommandContext context)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "switchboard",
            // The content root is never read (no files come from it); the tool's folder always exists, unlike a
            // working directory that may have been deleted under the process.
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The command's factory, shared with everything the command made before the host; the command disposes it
        // (a factory registered as an instance is not disposed by the container).
        builder.Services.AddSingleton<ILoggerFactory>(new HostLoggerFactory(context.LoggerFactory));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        if (context.Environment.HandleSignals) builder.Services.AddSingleton<IHostLifetime, ConsoleLifetime>();
        else builder.Services.AddSingleton<IHostLifetime, NoSignalsLifetime>();
        return builder;
    }

    /// <summary>
    /// Runs <paramref name="host"/> until it is stopped (a signal, <paramref name="context"/>'s token, or
    /// <see cref="IHostApplicationLifetime.StopApplication"/>), logging the stop request once, then stops and disposes it.
    /// A hosted service that fails to start throws here, after the host has stopped what it started.
    /// </summary>
    public static async Task RunAsync(IHost host, CommandContext context, ILogger logger)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var stopping = lifetime.ApplicationStopping.Register(() => CliLog.Stopping(logger, StopReason(context)));
        await host.RunAsync(context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For a command that is not a hosted service (the chaos coordinator, its node processes): an empty host whose
    /// console lifetime cancels <paramref name="stop"/> on SIGINT/SIGTERM/SIGQUIT, logging the stop once — the same
    /// signal handling as the hosted commands. Dispose it (await) after the command's work has ended.
    /// </summary>
    public static async Task<IAsyncDisposable> StopOnSignalsAsync(CommandContext context, CancellationTokenSource stop, ILogger logger)
    {
        var host = CreateBuilder(context).Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = lifetime.ApplicationStopping.Register(() =>
        {
            CliLog.Stopping(logger, StopReason(context));
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The command already ended.
            }
        });
        await host.StartAsync(context.CancellationToken).ConfigureAwait(false);
        return new SignalScope(host, stopping);
    }

    private sealed class SignalScope(IHost host, CancellationTokenRegistration stopping) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stopping.DisposeAsync().ConfigureAwait(false);
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            host.Dispose();
        }
    }

    /// <summary>
    /// The command's logger factory without the host's own "Hosting failed to start" error: the command reports that
    /// failure itself, in its words ("error: cannot listen on …: address already in use", exit 1), and a second line
    /// with the same exception would only repeat it. The host's other lines (debug start/stop traces) pass.
    /// </summary>
    private sealed class HostLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        // "Hosting failed to start": Microsoft.Extensions.Hosting's LoggerEventIds.HostedServiceStartupFaulted.
        private const int HostingFailedToStart = 11;

        public ILogger CreateLogger(string categoryName) => categoryName == "Microsoft.Extensions.Hosting.Internal.Host"
            ? new WithoutStartFailure(inner.CreateLogger(categoryName))
            : inner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        // Owned by the command, which disposes the inner factory at the end of the run.
        public void Dispose() { }

        private sealed class WithoutStartFailure(ILogger inner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (eventId.Id != HostingFailedToStart) inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }

    internal static string StopReason(CommandContext context) =>
        context.CancellationToken.IsCancellationRequested ? "cancelled by the caller" : "Ctrl-C or SIGTERM";

    /// <summary>
    /// A lifetime that leaves the signals alone: a command run in-process (tests) is stopped by its token, and must not
    /// take the test process's Ctrl-C.
    /// </summary>
    internal sealed class NoSignalsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Hands an ASP.NET Core app's log lines (status API, metrics endpoint) to the command's logger factory.</summary>
    internal sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose() { }
    }
}

/// <summary>
/// The stop request of a command that ends by itself (testnet, crawl) and reports what it has when interrupted: a
/// started host with the console lifetime whose stop (Ctrl-C, SIGTERM or the command's token) cancels
/// <see cref="Token"/>. Disposing it ends the host.
/// </summary>
internal sealed class CommandStop : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenRegistration _log;
    private readonly CancellationTokenRegistration _caller;

    private CommandStop(IHost host, CommandContext context, ILogger logger)
    {
        _host = host;
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        _stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        _log = lifetime.ApplicationStopping.Register(() => CliLog.Stopping(logger, CommandHost.StopReason(context)));
        _caller = context.CancellationToken.Register(lifetime.StopApplication);
    }

    /// <summary>Cancelled when the command is asked to stop.</summary>
    public CancellationToken Token => _stop.Token;

    public bool IsCancellationRequested => _stop.IsCancellationRequested;

    public static async Task<CommandStop> StartAsync(CommandContext context, ILogger logger)
    {
        var host = CommandHost.CreateBuilder(context).Build();
        try
        {
            await host.StartAsync(context.CancellationToken).ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return new CommandStop(host, context, logger);
    }

    public async ValueTask DisposeAsync()
    {
        // Done by itself or interrupted: either way the host's lifetime ends here, without a second "Stopping" line.
        await _caller.DisposeAsync().ConfigureAwait(false);
        await _log.DisposeAsync().ConfigureAwait(false);
        await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        _host.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// <c>start</c>'s node as a hosted service: started with the host (then <see cref="CliEnvironment.NodeStarted"/> is
/// told), stopped when the host stops, within the host's shutdown timeout.
/// </summary>
internal sealed class NodeHostedService(NodeHost node, Action<NodeHost>? started) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await node.StartAsync(cancellationToken).ConfigureAwait(false);
        started?.Invoke(node);
    }

    public Task StopAsync(CancellationToken cancellationToken) => node.StopAsync().WaitAsync(cancellationToken);
}
