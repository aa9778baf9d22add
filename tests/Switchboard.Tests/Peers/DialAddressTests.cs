using System.Net;
using Switchboard.Crypto;
using Switchboard.Peers;

namespace Switchboard.Tests.Peers;

public class DialAddressTests
{
    private const string Id = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

    [Theory]
    [InlineData($"{Id}@localhost:26656", "localhost", 26656, $"{Id}@localhost:26656")]
    [InlineData($"tcp://{Id}@localhost:26656", "localhost", 26656, $"{Id}@localhost:26656")]
    [InlineData($"{Id}@localhost.:1", "localhost.", 1, $"{Id}@localhost.:1")]
    [InlineData($"{Id}@[localhost]:26656", "localhost", 26656, $"{Id}@localhost:26656")] // Go's SplitHostPort allows it
    [InlineData($"{Id}@127.0.0.1:26656", "127.0.0.1", 26656, $"{Id}@127.0.0.1:26656")]
    [InlineData($"{Id}@[::1]:26656", "::1", 26656, $"{Id}@[::1]:26656")]
    [InlineData($"{Id}@[::ffff:127.0.0.1]:26656", "127.0.0.1", 26656, $"{Id}@127.0.0.1:26656")]
    [InlineData($"{Id}@[2001:DB8:0::1]:0", "2001:db8::1", 0, $"{Id}@[2001:db8::1]:0")]
    public void ParsesIdHostPort(string text, string host, ushort port, string printed)
    {
        Assert.True(DialAddress.TryParse(text, out var address));
        Assert.Equal(NodeId.Parse(Id), address.Id);
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
        Assert.Equal(printed, address.ToString());
        Assert.Equal(address, DialAddress.Parse(printed));
    }

    [Theory]
    [InlineData("localhost:26656")]                       // the ID is required
    [InlineData("@localhost:26656")]
    [InlineData($"{Id}@localhost")]
    [InlineData($"{Id}@localhost:65536")]
    [InlineData($"{Id}@:26656")]
    [InlineData($"{Id}@local host:26656")]
    [InlineData($"{Id}@-localhost:26656")]
    [InlineData($"{Id}@localhost-:26656")]
    [InlineData($"{Id}@local..host:26656")]
    [InlineData($"{Id}@local/host:26656")]
    [InlineData($"{Id}@127.0.0:26656")]                   // all-numeric: a broken IP, not a name
    [InlineData($"{Id}@127.0.0.01:26656")]
    [InlineData($"{Id}@::1:26656")]
    public void RejectsMalformedAddresses(string text)
    {
        Assert.False(DialAddress.TryParse(text, out var address));
        Assert.Null(address);
        Assert.Throws<FormatException>(() => DialAddress.Parse(text));
    }

    [Fact]
    public void RejectsOverlongLabelsAndNames()
    {
        Assert.True(DialAddress.TryParse($"{Id}@{new string('a', 63)}.localhost:1", out _));
        Assert.False(DialAddress.TryParse($"{Id}@{new string('a', 64)}.localhost:1", out _));
        var name = string.Join('.', Enumerable.Repeat(new string('a', 49), 5)); // 249 characters
        Assert.True(DialAddress.TryParse($"{Id}@{name}.abc:1", out _));          // 253
        Assert.False(DialAddress.TryParse($"{Id}@{name}.abcd:1", out _));        // 254
    }

    [Fact]
    public void ConstructorEnforcesTheSameRules()
    {
        var id = NodeId.Parse(Id);
        Assert.Equal("127.0.0.1", new DialAddress(id, "::ffff:127.0.0.1", 1).Host);
        Assert.Throws<ArgumentException>(() => new DialAddress(default, "localhost", 1));
        Assert.Throws<ArgumentException>(() => new DialAddress(id, "bad host", 1));
        Assert.Throws<ArgumentException>(() => new DialAddress(id, "", 1));
        Assert.Throws<ArgumentNullException>(() => new DialAddress(id, null!, 1));
        var ok = new DialAddress(id, "localhost", 1);
        Assert.Throws<ArgumentException>(() => ok with { Host = "[::1]" });
        Assert.Throws<ArgumentException>(() => ok with { Id = default });
    }

    [Fact]
    public void FromNetAddressKeepsIdIpAndPort()
    {
        var net = NetAddress.Parse($"{Id}@[2001:db8::1]:26656");
        var dial = DialAddress.From(net);
        Assert.Equal($"{Id}@[2001:db8::1]:26656", dial.ToString());
        Assert.Throws<ArgumentException>(() => DialAddress.From(net with { Id = default }));
    }

    [Fact]
    public async Task AnIpLiteralResolvesWithoutALookup()
    {
        // An already-cancelled token: any lookup would throw, so success proves none was attempted.
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var address = await DialAddress.Parse($"{Id}@[::1]:26656").ResolveAsync(cancelled.Token);
        Assert.Equal(NetAddress.Parse($"{Id}@[::1]:26656"), address);
    }

    [Fact]
    public async Task LocalhostResolvesToALoopbackAddress()
    {
        var address = await DialAddress.Parse($"{Id}@localhost:26656").ResolveAsync();
        Assert.True(IPAddress.IsLoopback(address.Ip), address.ToString());
        Assert.Equal(NodeId.Parse(Id), address.Id);
        Assert.Equal(26656, address.Port);
        Assert.True(address.IsLocal);
    }

    [Fact]
    public async Task ResolvingANameHonoursCancellation()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await DialAddress.Parse($"{Id}@localhost:26656").ResolveAsync(cancelled.Token));
    }
}
