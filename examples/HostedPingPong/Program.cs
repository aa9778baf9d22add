using HostedPingPong;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard;
using Switchboard.Hosting;

// Two worker-service nodes in one process, each a Generic Host with services.AddSwitchboard(...) configured from
// appsettings.json (section "Switchboard"), then environment variables and the command line
// (--Switchboard:Network other-chain, --PingPong:Count 100). "pong" answers on channel 0x77 with a push-style reactor
// the container builds; "ping" has it as a persistent peer, sends pings from a BackgroundService that reads its agent
// channel, and stops its host when every pong is back. In a deployment each node is its own process; the code of a
// node is the same.
using var pong = BuildNode(args, "pong", node => node.AddReactor<PongReactor>());
await pong.StartAsync();
var pongAddress = pong.Services.GetRequiredService<Switch>().ListenAddress!;

using var ping = BuildNode(args, "ping", node =>
{
    node.AddAgentChannel(PingPongProtocol.Channel);
    node.Services.AddSingleton<PingResult>();
    node.Services.AddHostedService<PingWorker>();
}, ("Switchboard:PersistentPeers:0", pongAddress.ToString()));
var result = ping.Services.GetRequiredService<PingResult>();
await ping.RunAsync();   // until PingWorker stops it (every pong back, or PingPong:Timeout) or Ctrl-C
await pong.StopAsync();
Console.WriteLine(result.Completed
    ? $"ping: {result.Pongs} pongs from {result.Peer} in {result.Elapsed.TotalMilliseconds:0} ms"
    : $"ping: FAILED, {result.Pongs} pongs ({result.Failure})");
return result.Completed ? 0 : 1;

static IHost BuildNode(string[] args, string moniker, Action<ISwitchboardBuilder> configure, params (string Key, string Value)[] settings)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(
        settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)).Append(KeyValuePair.Create("Switchboard:Moniker", (string?)moniker)));
    builder.Configuration.AddCommandLine(args);   // the command line still wins
    builder.Services.Configure<PingPongOptions>(builder.Configuration.GetSection("PingPong"));
    configure(builder.Services.AddSwitchboard(builder.Configuration.GetSection(SwitchboardNodeOptions.SectionName)));
    return builder.Build();
}
