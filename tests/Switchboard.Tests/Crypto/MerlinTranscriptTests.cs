using System.Text;
using Switchboard.Crypto;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Crypto;

public class MerlinTranscriptTests
{
    [Fact]
    public void KeccakOfZeroStateMatchesTheKnownFirstLane()
    {
        // Keccak-f[1600] applied once to the all-zero state (the KeccakF-1600 reference "IntermediateValues").
        var state = new byte[200];
        Keccak.Permute(state);
        Assert.Equal(0xF1258F7940E1DDE7UL, BitConverter.ToUInt64(state, 0));
        Assert.Equal(0x84D5CCF933C0478AUL, BitConverter.ToUInt64(state, 8));
    }

    [Fact]
    public void SimpleTranscriptMatchesMerlinVector()
    {
        using var t = new MerlinTranscript("test protocol"u8);
        t.AppendMessage("some label"u8, "some data"u8);
        var challenge = new byte[32];
        t.ChallengeBytes("challenge"u8, challenge);
        Assert.Equal("d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615", Vectors.ToHex(challenge));
    }

    [Fact]
    public void ComplexTranscriptMatchesMerlinVector()
    {
        using var t = new MerlinTranscript("test protocol"u8);
        t.AppendMessage("step1"u8, "some data"u8);
        var data = Enumerable.Repeat((byte)99, 1024).ToArray();
        var challenge = new byte[32];
        for (var i = 0; i < 32; i++)
        {
            t.ChallengeBytes("challenge"u8, challenge);
            t.AppendMessage("bigdata"u8, data);
            t.AppendMessage("challengedata"u8, challenge);
        }
        // The vector (gtank/merlin TestComplexTranscript) is the challenge of the 32nd round.
        Assert.Equal("a8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c", Vectors.ToHex(challenge));
    }

    [Fact]
    public void DifferentLabelsGiveDifferentChallenges()
    {
        static string Run(string label)
        {
            using var t = new MerlinTranscript("test protocol"u8);
            t.AppendMessage(Encoding.ASCII.GetBytes(label), "some data"u8);
            var c = new byte[32];
            t.ChallengeBytes("challenge"u8, c);
            return Vectors.ToHex(c);
        }
        Assert.NotEqual(Run("some label"), Run("some label2"));
    }
}
