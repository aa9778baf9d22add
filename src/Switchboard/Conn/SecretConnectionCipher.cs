using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Switchboard.Conn;

/// <summary>
/// One direction of the SecretConnection record layer: ChaCha20-Poly1305 with the 12-byte nonce
/// <c>00 00 00 00 ‖ LE64(counter)</c> (PROTOCOL.md 3.1). Frames are sealed and opened in place:
/// the 1028-byte plaintext and the 1028-byte ciphertext share memory, followed by the 16-byte tag.
/// Not thread-safe: each direction has a single user.
/// </summary>
internal sealed class SecretConnectionCipher : IDisposable
{
    /// <summary>1024: the data area of a frame; CometBFT's <c>dataMaxSize</c>.</summary>
    public const int DataMaxSize = 1024;

    /// <summary>4: the little-endian data length that starts every frame.</summary>
    public const int LengthPrefixSize = 4;

    /// <summary>1028: the plaintext frame, length prefix plus the data area (data, then padding).</summary>
    public const int FrameSize = LengthPrefixSize + DataMaxSize;

    /// <summary>16: the Poly1305 tag.</summary>
    public const int TagSize = 16;

    /// <summary>1044: a sealed frame on the wire.</summary>
    public const int SealedFrameSize = FrameSize + TagSize;

    /// <summary>32: a ChaCha20-Poly1305 key.</summary>
    public const int KeySize = 32;

    private const int NonceSize = 12;

    private readonly ChaCha20Poly1305 _aead;
    private ulong _counter;

    /// <summary>Creates the cipher; the key is copied into the AEAD and may be cleared by the caller.</summary>
    /// <param name="key">the 32-byte direction key.</param>
    /// <param name="initialCounter">the first nonce counter; 0 except in tests of nonce exhaustion.</param>
    public SecretConnectionCipher(ReadOnlySpan<byte> key, ulong initialCounter = 0)
    {
        if (key.Length != KeySize)
            throw new ArgumentException("ChaCha20-Poly1305 keys are 32 bytes", nameof(key));
        _aead = new ChaCha20Poly1305(key);
        _counter = initialCounter;
    }

    /// <summary>The counter the next frame will use.</summary>
    public ulong Counter => _counter;

    /// <summary>
    /// Seals the 1028-byte plaintext at the start of <paramref name="frame"/> in place and writes the tag after
    /// it (1044 bytes in total), then advances the nonce.
    /// </summary>
    /// <exception cref="ProtocolViolationException"><see cref="ProtocolViolation.NonceExhausted"/>.</exception>
    public void Seal(Span<byte> frame)
    {
        if (frame.Length != SealedFrameSize)
            throw new ArgumentException("a sealed frame is 1044 bytes", nameof(frame));
        Span<byte> nonce = stackalloc byte[NonceSize];
        NextNonce(nonce);
        _aead.Encrypt(nonce, frame[..FrameSize], frame[..FrameSize], frame[FrameSize..]);
    }

    /// <summary>
    /// Opens the 1044-byte sealed frame in place (its first 1028 bytes become the plaintext) and advances the
    /// nonce. Returns false when the tag does not authenticate; the frame is then zeroed.
    /// </summary>
    /// <exception cref="ProtocolViolationException"><see cref="ProtocolViolation.NonceExhausted"/>.</exception>
    public bool TryOpen(Span<byte> frame)
    {
        if (frame.Length != SealedFrameSize)
            throw new ArgumentException("a sealed frame is 1044 bytes", nameof(frame));
        Span<byte> nonce = stackalloc byte[NonceSize];
        NextNonce(nonce);
        try
        {
            _aead.Decrypt(nonce, frame[..FrameSize], frame[FrameSize..], frame[..FrameSize]);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private void NextNonce(Span<byte> nonce)
    {
        // Go panics when asked to increment past 2^64−1 (tendermint/tendermint#3531), so the frame that would
        // use the last nonce is never sent or accepted. Refusing to use 2^64−1 gives the same wire behaviour.
        if (_counter == ulong.MaxValue)
            throw new ProtocolViolationException(ProtocolViolation.NonceExhausted,
                "SecretConnection nonce counter exhausted (2^64-1 frames); the session must end");
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], _counter);
        _counter++;
    }

    /// <summary>Releases the AEAD (and its copy of the key).</summary>
    public void Dispose() => _aead.Dispose();
}
