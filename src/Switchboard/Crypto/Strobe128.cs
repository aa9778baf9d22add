using System.Security.Cryptography;

namespace Switchboard.Crypto;

/// <summary>
/// The subset of STROBE-128 (v1.0.2) that Merlin uses: meta-AD, AD and PRF, exactly as PROTOCOL.md 3.4
/// describes them. The state absorbs the DH secret during the handshake, so <see cref="Dispose"/> clears it.
/// </summary>
internal sealed class Strobe128 : IDisposable
{
    // STROBE flag bits (STROBE spec, section 6.2).
    private const byte FlagI = 1;
    private const byte FlagA = 2;
    private const byte FlagC = 4;
    private const byte FlagT = 8;
    private const byte FlagM = 16;
    private const byte FlagK = 32;

    /// <summary>166: the rate of STROBE-128, 200 − 2·(128/8) − 2 bytes.</summary>
    private const int Rate = 166;

    private readonly byte[] _state = new byte[Keccak.StateBytes];
    private int _pos;
    private byte _posBegin;
    private byte _curFlags;

    /// <summary>Initialises the duplex and absorbs <paramref name="protocolLabel"/> as meta-AD.</summary>
    public Strobe128(ReadOnlySpan<byte> protocolLabel)
    {
        // Domain separation block of STROBE v1.0.2: [1, R+2, 1, 0, 1, 12·8] then "STROBEv1.0.2".
        ReadOnlySpan<byte> header = [1, Rate + 2, 1, 0, 1, 96];
        header.CopyTo(_state);
        "STROBEv1.0.2"u8.CopyTo(_state.AsSpan(6));
        Keccak.Permute(_state);
        MetaAd(protocolLabel, more: false);
    }

    /// <summary>Absorbs framing metadata (flags M|A).</summary>
    public void MetaAd(ReadOnlySpan<byte> data, bool more)
    {
        BeginOp(FlagM | FlagA, more);
        Absorb(data);
    }

    /// <summary>Absorbs associated data (flag A).</summary>
    public void Ad(ReadOnlySpan<byte> data, bool more)
    {
        BeginOp(FlagA, more);
        Absorb(data);
    }

    /// <summary>Squeezes pseudo-random output (flags I|A|C).</summary>
    public void Prf(Span<byte> output, bool more)
    {
        BeginOp(FlagI | FlagA | FlagC, more);
        Squeeze(output);
    }

    private void BeginOp(byte flags, bool more)
    {
        if (more)
        {
            // A continued operation must use the same flags; Merlin only continues meta-AD.
            if (flags != _curFlags)
                throw new InvalidOperationException("STROBE: continued operation with different flags");
            return;
        }
        if ((flags & FlagT) != 0)
            throw new InvalidOperationException("STROBE: transport operations are not supported");
        var oldBegin = _posBegin;
        _posBegin = (byte)(_pos + 1);
        _curFlags = flags;
        Absorb([oldBegin, flags]);
        if ((flags & (FlagC | FlagK)) != 0 && _pos != 0)
            RunF();
    }

    private void Absorb(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            _state[_pos] ^= b;
            if (++_pos == Rate)
                RunF();
        }
    }

    private void Squeeze(Span<byte> output)
    {
        for (var i = 0; i < output.Length; i++)
        {
            output[i] = _state[_pos];
            _state[_pos] = 0;
            if (++_pos == Rate)
                RunF();
        }
    }

    private void RunF()
    {
        _state[_pos] ^= _posBegin;
        _state[_pos + 1] ^= 0x04;
        _state[Rate + 1] ^= 0x80;
        Keccak.Permute(_state);
        _pos = 0;
        _posBegin = 0;
    }

    /// <summary>Clears the state (it has absorbed secrets).</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_state);
        _pos = 0;
        _posBegin = 0;
        _curFlags = 0;
    }
}
