using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Hosting;
using Switchboard.Peers;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Hosting;

public sealed class AddSwitchboardTests
{
    private static readonly ChannelDescriptor Chat = new(0x77, Priority: 5) { SendQueueCapacity = 16 };

    /// <summary>Counts what the DI-built reactor saw; a singleton the reactor takes in its constructor.</summary>
    private sealed class EchoLog
    {
        public int Echoed;
    }

    /// <summary>Echoes channel 0x77; constructed by the container (it needs <see cref="EchoLog"/>).</summary>
    private sealed class EchoReactor(EchoLog log) : Reactor("ECHO")
    {
        public override IReadOnlyList<ChannelDescriptor> GetChannels() => [Chat];

        public override ValueTask ReceiveAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref log.Echoed);
            envelope.Reply(envelope.Message.ToArray());
            return ValueTask.CompletedTask;
        }
    }

    // No defaults: no appsettings.json, environment or command line from the test process leaks into the node.
    private static HostApplicationBuilder NewBuilder(params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));
        return builder;
    }

    [Fact]
    public async Task HostedNodes_ExchangeMessagesOverLoopback_AndStopWithTheirHosts()
    {
        var echoBuilder = NewBuilder(
            ("Switchboard:Network", "hosting-test"),
            ("Switchboard:Moniker", "echo"),
            ("Switchboard:ListenAddress", "tcp://127.0.0.1:0"));
        echoBuilder.Services.AddLogging();
        echoBuilder.Services.AddSingleton<EchoLog>();
        echoBuilder.Services.AddSwitchboard(echoBuilder.Configuration.GetSection("Switchboard")).AddReactor<EchoReactor>();
        using var echoHost = echoBuilder.Build();
        await Eventually.WithinAsync(echoHost.StartAsync(), "echo host start");
        var echo = echoHost.Services.GetRequiredService<Switch>();
        Assert.True(echo.IsRunning);
        Assert.Equal("hosting-test", echo.Options.Network);
        Assert.Equal("127.0.0.1", echo.ListenAddress!.Ip.ToString());
        Assert.NotEqual(0, echo.ListenAddress.Port);

        var clientBuilder = NewBuilder(
            ("Switchboard:Network", "hosting-test"),
            ("Switchboard:Moniker", "client"),
            ("Switchboard:ListenAddress", ""),
            ("Switchboard:DialJitter", "00:00:00"),
            ("Switchboard:PersistentPeers:0", echo.ListenAddress.ToString()));
        clientBuilder.Services.AddLogging();
        clientBuilder.Services.AddSwitchboard(clientBuilder.Configuration.GetSection("Switchboard")).AddAgentChannel(Chat);
        using var clientHost = clientBuilder.Build();
        var client = clientHost.Services.GetRequiredService<Switch>();
        var chat = clientHost.Services.GetRequiredAgentChannel(0x77);
        Assert.Same(chat, clientHost.Services.GetRequiredKeyedService<AgentChannel>((byte)0x77));
        // The host's factories are the Switch's: its meter comes from the container's IMeterFactory, its loggers
        // from the container's ILoggerFactory.
        Assert.Same(clientHost.Services.GetRequiredService<IMeterFactory>(), client.Options.MeterFactory);
        Assert.Same(clientHost.Services.GetRequiredService<ILoggerFactory>(), client.LoggerFactory);
        Assert.False(client.IsRunning);

        await Eventually.WithinAsync(clientHost.StartAsync(), "client host start");
        Assert.True(client.IsRunning);
        Assert.Null(client.ListenAddress);
        await Eventually.TrueAsync(() => client.Peers.Count == 1 && echo.Peers.Count == 1, "the client dials its persistent peer");
        var peer = client.Peers[0];
        Assert.Equal("echo", peer.NodeInfo.Moniker);

        for (var i = 0; i < 5; i++)
        {
            var message = System.Text.Encoding.UTF8.GetBytes($"message {i}");
            Assert.True(await chat.SendAsync(peer, message));
            var reply = await Eventually.WithinAsync(chat.ReadAsync().AsTask(), $"echo of message {i}");
            Assert.Equal(message, reply.Message.ToArray());
            Assert.Equal(echo.NodeId, reply.Source.Id);
        }
        Assert.Equal(5, echoHost.Services.GetRequiredService<EchoLog>().Echoed);

        await Eventually.WithinAsync(clientHost.StopAsync(), "client host stop");
        Assert.False(client.IsRunning);
        await Eventually.TrueAsync(() => echo.Peers.Count == 0, "the echo node sees the client go when its host stops");
        await Eventually.WithinAsync(echoHost.StopAsync(), "echo host stop");
        Assert.False(echo.IsRunning);
    }

    [Fact]
    public async Task TheNodeLogsThroughTheContainersLoggerFactory_AndStartsWithoutOne()
    {
        // One factory for every line of the node: the hosted service's start/stop lines and the Switch's come from the
        // container's ILoggerFactory, the hosting lines under "Switchboard.Hosting".
        var categories = new System.Collections.Concurrent.ConcurrentQueue<(string Category, string Message)>();
        var builder = NewBuilder(("Switchboard:ListenAddress", "127.0.0.1:0"));
        builder.Logging.AddProvider(new RecordingProvider(categories));
        builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"));
        using (var host = builder.Build())
        {
            await Eventually.WithinAsync(host.StartAsync(), "host start");
            await Eventually.WithinAsync(host.StopAsync(), "host stop");
        }
        Assert.Contains(categories, c => c.Category == "Switchboard.Hosting" && c.Message.Contains("started", StringComparison.Ordinal));
        Assert.Contains(categories, c => c.Category == "Switchboard.Hosting" && c.Message.Contains("stopped", StringComparison.Ordinal));

        // A plain container with no logging at all (no AddLogging): the node runs, silently.
        var services = new ServiceCollection();
        services.AddSwitchboard(o => o.ListenAddress = "127.0.0.1:0");
        await using var provider = services.BuildServiceProvider();
        var hosted = Assert.Single(provider.GetServices<IHostedService>());
        await Eventually.WithinAsync(hosted.StartAsync(CancellationToken.None), "start without logging");
        Assert.True(provider.GetRequiredService<Switch>().IsRunning);
        await Eventually.WithinAsync(hosted.StopAsync(CancellationToken.None), "stop without logging");
    }

    private sealed class RecordingProvider(System.Collections.Concurrent.ConcurrentQueue<(string, string)> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Recording(categoryName, lines);

        public void Dispose() { }

        private sealed class Recording(string category, System.Collections.Concurrent.ConcurrentQueue<(string, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((category, formatter(state, exception)));
        }
    }

    [Fact]
    public async Task UseTransport_RunsTheNodeOnAnotherTransport()
    {
        var network = new Switchboard.Transport.MemoryNetwork();
        IHost Node(string moniker, string? peer, Action<ISwitchboardBuilder> configure)
        {
            var builder = NewBuilder(("Switchboard:Moniker", moniker), ("Switchboard:ListenAddress", "10.0.0.1:26656"),
                ("Switchboard:DialJitter", "00:00:00"), ("Switchboard:PersistentPeers:0", peer ?? " "));
            configure(builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"))
                .UseTransport((_, key) => network.CreateTransport(key)));
            return builder.Build();
        }
        var log = new EchoLog();
        using var server = Node("server", null, n => n.AddReactor(_ => new EchoReactor(log)));
        await server.StartAsync();
        var address = server.Services.GetRequiredService<Switch>().ListenAddress!;
        Assert.Equal(26656, address.Port);
        using var client = Node("client", address.ToString(), n => n.AddAgentChannel(Chat));
        await client.StartAsync();
        var sw = client.Services.GetRequiredService<Switch>();
        await Eventually.TrueAsync(() => sw.Peers.Count == 1, "the client dials the server over the memory network");
        var chat = client.Services.GetRequiredAgentChannel(0x77);
        Assert.True(chat.TrySend(sw.Peers[0], "over memory"u8.ToArray()));
        var reply = await Eventually.WithinAsync(chat.ReadAsync().AsTask(), "the echo");
        Assert.Equal("over memory"u8.ToArray(), reply.Message.ToArray());
        Assert.Equal(1, log.Echoed);
        await client.StopAsync();
        await server.StopAsync();
    }

    [Fact]
    public async Task PortInUse_FailsTheHostStart()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var builder = NewBuilder(("Switchboard:ListenAddress", taken.LocalEndpoint.ToString()));
        builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"));
        using var host = builder.Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.True(error is System.Net.Sockets.SocketException or IOException, error.ToString());
        Assert.Contains("in use", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task BadOptions_FailTheHostAtStart_NamingEachSetting()
    {
        var builder = NewBuilder(
            ("Switchboard:Network", ""),
            ("Switchboard:ListenAddress", "localhost:port"),
            ("Switchboard:PersistentPeers:0", "not-a-peer"),
            ("Switchboard:DialTimeout", "00:00:00"),
            ("Switchboard:ExternalAddress", "example.org"));
        var reactorMade = false;
        builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"))
            .AddReactor(_ => { reactorMade = true; throw new InvalidOperationException("the Switch must not be built from bad options"); });
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        var messages = string.Join("\n", failure.Failures);
        Assert.Contains("ListenAddress: \"localhost:port\" is not [tcp://]IP:PORT", messages);
        Assert.Contains("PersistentPeers[0]: \"not-a-peer\" is not id@host:port", messages);
        Assert.Contains("DialTimeout must be positive", messages);
        Assert.Contains("ExternalAddress: \"example.org\" is not HOST:PORT", messages);
        Assert.False(reactorMade);
    }

    [Fact]
    public async Task EmptyNetwork_FailsValidation()
    {
        var builder = NewBuilder(("Switchboard:Network", ""), ("Switchboard:ListenAddress", ""));
        builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"));
        using var host = builder.Build();
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(failure.Failures, f => f.Contains("Network (chain ID) must not be empty", StringComparison.Ordinal));
    }

    [Fact]
    public void Binding_ReadsEverySetting()
    {
        using var key = NodeKey.Generate();
        var peer = $"{key.Id}@seed.example.org:26656";
        var builder = NewBuilder(
            ("Switchboard:Network", "bound-chain"),
            ("Switchboard:Moniker", "bound"),
            ("Switchboard:ListenAddress", "127.0.0.1:26700"),
            ("Switchboard:ExternalAddress", "203.0.113.7:26656"),
            ("Switchboard:PersistentPeers:0", peer),
            ("Switchboard:MaxInboundPeers", "7"),
            ("Switchboard:MaxOutboundPeers", "3"),
            ("Switchboard:AllowDuplicateIp", "true"),
            ("Switchboard:DialJitter", "00:00:01.5"),
            ("Switchboard:DialTimeout", "00:00:04"),
            ("Switchboard:HandshakeTimeout", "00:00:05"));
        builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"))
            .ConfigureSwitch(o => o with { GracefulStopTimeout = TimeSpan.FromSeconds(2) });
        using var host = builder.Build();

        var bound = host.Services.GetRequiredService<IOptions<SwitchboardNodeOptions>>().Value;
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 26700), bound.ParseListenEndPoint());
        var transport = bound.ToTransportOptions();
        Assert.Equal((TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5), true),
            (transport.DialTimeout, transport.HandshakeTimeout, transport.AllowDuplicateIp));

        // Resolving the Switch builds it (without starting it) from the bound options and ConfigureSwitch.
        var options = host.Services.GetRequiredService<Switch>().Options;
        Assert.Equal(("bound-chain", "bound", "203.0.113.7:26656"), (options.Network, options.Moniker, options.ExternalAddress));
        Assert.Equal([DialAddress.Parse(peer)], options.PersistentPeers);
        Assert.Equal((7, 3, true), (options.MaxInboundPeers, options.MaxOutboundPeers, options.AllowDuplicateIp));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.DialJitter);
        Assert.Equal(TimeSpan.FromSeconds(2), options.GracefulStopTimeout);
    }

    [Fact]
    public void NodeKeyFile_IsCreatedOnce_AndKeepsTheNodeId()
    {
        var dir = Directory.CreateTempSubdirectory("sb-hosting-");
        try
        {
            var file = Path.Combine(dir.FullName, "node_key.json");
            NodeId First()
            {
                var builder = NewBuilder(("Switchboard:NodeKeyFile", file), ("Switchboard:ListenAddress", ""));
                builder.Services.AddSwitchboard(builder.Configuration.GetSection("Switchboard"));
                using var host = builder.Build();
                return host.Services.GetRequiredService<Switch>().NodeId;
            }
            var id = First();
            Assert.True(File.Exists(file));
            Assert.Equal(id, First());
            using var loaded = NodeKey.Load(file);
            Assert.Equal(id, loaded.Id);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Misuse_IsRefusedWithAReason()
    {
        var services = new ServiceCollection();
        var node = services.AddSwitchboard(o => o.ListenAddress = "");
        Assert.Throws<InvalidOperationException>(() => services.AddSwitchboard());
        node.AddAgentChannel(Chat);
        Assert.Throws<ArgumentException>(() => node.AddAgentChannel(Chat with { Priority = 1 }));
        services.AddLogging();
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredAgentChannel(0x78));
        Assert.Contains("0x78", error.Message, StringComparison.Ordinal);
    }
}
