using Switchboard.Conn;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Crypto;

public class HkdfGoldenTests
{
    [Fact]
    public void AllGoldenLinesReproduceIncludingTheLegacyChallenge()
    {
        var lines = File.ReadAllLines(Vectors.PathOf("hkdf_golden.csv")).Where(l => l.Length > 0).ToArray();
        Assert.Equal(32, lines.Length);
        foreach (var line in lines)
        {
            var cols = line.Split(',');
            Assert.Equal(5, cols.Length);
            var dh = Vectors.Hex(cols[0]);
            var locIsLeast = bool.Parse(cols[1]);
            var recv = new byte[32];
            var send = new byte[32];
            SecretConnection.DeriveKeys(dh, locIsLeast, recv, send);
            Assert.Equal(cols[2], Vectors.ToHex(recv));
            Assert.Equal(cols[3], Vectors.ToHex(send));
            var okm = new byte[96];
            SecretConnection.DeriveOkm(dh, okm);
            Assert.Equal(cols[4], Vectors.ToHex(okm.AsSpan(64)));
        }
    }
}
