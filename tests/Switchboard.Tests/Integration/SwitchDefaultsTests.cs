using Switchboard.Conn;
using Switchboard.Crypto;
using Switchboard.Tests.Support;
using Switchboard.Transport;

namespace Switchboard.Tests.Integration;

/// <summary>One clock and one duplicate-IP rule per node: the Switch's settings reach its connections and transport.</summary>
public class SwitchDefaultsTests
{
    [Fact]
    public async Task TheSwitchClockDrivesConnectionsAndTransportUnlessTheyHaveTheirOwn()
    {
        using var key = NodeKey.Generate();
        var clock = new ManualTimeProvider();
        var transport = new TcpTransport(key);
        await using (var sw = new Switch(transport, key, new SwitchOptions { TimeProvider = clock }))
        {
            Assert.Same(clock, sw.Options.Connection.TimeProvider);
            Assert.Same(clock, ((ICoreTransport)transport).Core.Clock);
        }
        await transport.DisposeAsync();

        var own = new ManualTimeProvider();
        var ownTransport = new TcpTransport(key, new TransportOptions { TimeProvider = own });
        await using (var sw = new Switch(ownTransport, key,
            new SwitchOptions { TimeProvider = clock, Connection = new MConnectionOptions { TimeProvider = own } }))
        {
            Assert.Same(own, sw.Options.Connection.TimeProvider);
            Assert.Same(own, ((ICoreTransport)ownTransport).Core.Clock);
        }
        await ownTransport.DisposeAsync();
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    public async Task EitherDuplicateIpSettingAllowsItForTheNode(bool onSwitch, bool onTransport, bool expected)
    {
        using var key = NodeKey.Generate();
        var transport = new MemoryNetwork().CreateTransport(key, options: new TransportOptions { AllowDuplicateIp = onTransport });
        await using var sw = new Switch(transport, key, new SwitchOptions { AllowDuplicateIp = onSwitch });
        Assert.Equal(expected, ((ICoreTransport)transport).Core.AllowDuplicateIp);
        await transport.DisposeAsync();
    }
}
