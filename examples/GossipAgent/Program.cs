using Stopwatch = System.Diagnostics.Stopwatch;
using System.Net;
using GossipAgent;
using Switchboard;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

// Four nodes on an in-memory network, connected in a line (0-1-2-3); node 0 submits 100 transactions and the
// agents gossip them until every pool holds all of them.
const int nodes = 4, txs = 100;
var network = new MemoryNetwork();
var switches = new List<Switch>();
var agents = new List<MempoolAgent>();
using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var loops = new List<Task>();

for (var i = 0; i < nodes; i++)
{
    var key = NodeKey.Generate();
    var persistent = switches.Count == 0 ? [] : new[] { switches[^1].ListenAddress! }
        .Select(a => new DialAddress(a.Id, a.Ip.ToString(), a.Port)).ToList();
    var sw = new Switch(network.CreateTransport(key), key,
        new SwitchOptions { Network = "gossip-demo", Moniker = $"node{i}", PersistentPeers = persistent, DialJitter = TimeSpan.Zero });
    var agent = new MempoolAgent(sw);
    await sw.StartAsync(new IPEndPoint(IPAddress.Any, 0));
    loops.Add(agent.RunAsync(cts.Token));
    switches.Add(sw);
    agents.Add(agent);
}

var clock = Stopwatch.StartNew();
for (var t = 0; t < txs; t++) agents[0].Submit(System.Text.Encoding.UTF8.GetBytes($"tx-{t}"));
while (agents.Any(a => a.Count < txs) && !cts.IsCancellationRequested)
    await Task.Delay(10);
Console.WriteLine($"{txs} transactions reached all {nodes} nodes in {clock.ElapsedMilliseconds} ms: "
    + string.Join(", ", agents.Select((a, i) => $"node{i}={a.Count}")));

cts.Cancel();
await Task.WhenAll(loops);
foreach (var sw in switches) await sw.DisposeAsync();
return agents.All(a => a.Count == txs) ? 0 : 1;
