using System.Net;
using System.Text;
using Switchboard;
using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Peers;
using Switchboard.Transport;

// Two nodes in one process on 127.0.0.1. A real node keeps its identity in a file,
// NodeKey.LoadOrGenerate("node_key.json") (CometBFT's format), and listens on a fixed port such as 26656.
using var aliceKey = NodeKey.Generate();
using var bobKey = NodeKey.Generate();
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));   // a sample that fails says so
var options = new SwitchOptions { Network = "my-chain" };
await using var alice = new Switch(new TcpTransport(aliceKey), aliceKey, options with { Moniker = "alice" });
await using var bob = new Switch(new TcpTransport(bobKey), bobKey, options with { Moniker = "bob" });

// Pull style: read a channel as an async stream, no Reactor class needed. Channels are opened before StartAsync.
var chat = new ChannelDescriptor(0x77, Priority: 5) { SendQueueCapacity = 100 };
var aliceChat = alice.OpenChannel(chat);
var bobChat = bob.OpenChannel(chat);
await alice.StartAsync(new IPEndPoint(IPAddress.Loopback, 0));   // port 0: any free port, see alice.ListenAddress
await bob.StartAsync(new IPEndPoint(IPAddress.Loopback, 0));

_ = Task.Run(async () =>
{
    await foreach (var e in alice.WatchPeersAsync())
        Console.WriteLine(e is PeerRemoved removed ? $"alice: - {e.Peer.Id}: {removed.Reason}" : $"alice: {e.GetType().Name} {e.Peer.Id}");
});

// Bob dials Alice and waits until she is his peer. (A node that should stay connected lists the address in
// SwitchOptions.PersistentPeers, e.g. DialAddress.Parse("3e53e085ad98eaca8277bb0295d6b1a5442c8dc3@seed.example.org:26656"),
// and the Switch dials and redials it.) A broadcast before any peer exists reaches no one: TryBroadcast returns 0.
var alicePeer = await bob.DialPeerAsync(alice.ListenAddress!, timeout.Token);
await bobChat.SendAsync(alicePeer, "hello from bob"u8.ToArray(), timeout.Token);

// Alice answers what she reads; Reply never waits (it queues to the sender and disconnects one that does not read).
var question = await aliceChat.ReadAsync(timeout.Token);
Console.WriteLine($"alice got from {question.Source.NodeInfo.Moniker}: {Encoding.UTF8.GetString(question.Message.Span)}");
question.Reply("hello, bob"u8.ToArray());

var answer = await bobChat.ReadAsync(timeout.Token);
Console.WriteLine($"bob got from {answer.Source.NodeInfo.Moniker}: {Encoding.UTF8.GetString(answer.Message.Span)}");
