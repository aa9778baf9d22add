using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Crypto;

public class Curve25519Tests
{
    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // 0
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // 1 (order 4)
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")] // order 8
    [InlineData("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")] // order 8
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // p − 1 (order 2)
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // p ≡ 0
    public void LowOrderPointsGiveNoSharedSecret(string point)
    {
        var priv = Vectors.Hex("404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f");
        var shared = new byte[32];
        Assert.False(Curve25519.TrySharedSecret(priv, Vectors.Hex(point), shared));
        Assert.All(shared, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Rfc7748Section61Vector()
    {
        var alicePriv = Vectors.Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        var bobPriv = Vectors.Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        var alicePub = new byte[32];
        var bobPub = new byte[32];
        Curve25519.PublicKey(alicePriv, alicePub);
        Curve25519.PublicKey(bobPriv, bobPub);
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Vectors.ToHex(alicePub));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Vectors.ToHex(bobPub));
        var s1 = new byte[32];
        var s2 = new byte[32];
        Assert.True(Curve25519.TrySharedSecret(alicePriv, bobPub, s1));
        Assert.True(Curve25519.TrySharedSecret(bobPriv, alicePub, s2));
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Vectors.ToHex(s1));
        Assert.Equal(s1, s2);
    }
}
