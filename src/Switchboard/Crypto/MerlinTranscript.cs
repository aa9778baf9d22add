using System.Buffers.Binary;

namespace Switchboard.Crypto;

/// <summary>
/// A Merlin transcript (merlin.cool, v1.0) over <see cref="Strobe128"/>: the construction the SecretConnection
/// handshake hashes the ephemeral keys and DH secret with to get its 32-byte challenge (PROTOCOL.md 3.2 steps 4–8).
/// </summary>
internal sealed class MerlinTranscript : IDisposable
{
    private readonly Strobe128 _strobe = new("Merlin v1.0"u8);

    /// <summary>Starts a transcript for the application protocol <paramref name="label"/>.</summary>
    public MerlinTranscript(ReadOnlySpan<byte> label) => AppendMessage("dom-sep"u8, label);

    /// <summary>Appends a labelled message (Merlin's <c>append_message</c>).</summary>
    public void AppendMessage(ReadOnlySpan<byte> label, ReadOnlySpan<byte> message)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, checked((uint)message.Length));
        _strobe.MetaAd(label, more: false);
        _strobe.MetaAd(length, more: true);
        _strobe.Ad(message, more: false);
    }

    /// <summary>Fills <paramref name="destination"/> with challenge bytes bound to everything appended so far.</summary>
    public void ChallengeBytes(ReadOnlySpan<byte> label, Span<byte> destination)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, checked((uint)destination.Length));
        _strobe.MetaAd(label, more: false);
        _strobe.MetaAd(length, more: true);
        _strobe.Prf(destination, more: false);
    }

    /// <summary>Clears the underlying STROBE state.</summary>
    public void Dispose() => _strobe.Dispose();
}
