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
    private FrameAead512.KeyWords _keyWords;
    /// <summary><see cref="UseBatchPath"/> as it was when this cipher was made.</summary>
    private readonly bool _batch;
    private ulong _counter;

    /// <summary>Creates the cipher; the key is copied into the AEAD and may be cleared by the caller.</summary>
    /// <param name="key">the 32-byte direction key.</param>
    /// <param name="initialCounter">the first nonce counter; 0 except in tests of nonce exhaustion.</param>
    public SecretConnectionCipher(ReadOnlySpan<byte> key, ulong initialCounter = 0)
        : this(key, initialCounter, UseBatchPath)
    {
    }

    /// <summary>As above, choosing the path (tests compare the two; <paramref name="batch"/> needs AVX-512).</summary>
    internal SecretConnectionCipher(ReadOnlySpan<byte> key, ulong initialCounter, bool batch)
    {
        if (key.Length != KeySize)
            throw new ArgumentException("ChaCha20-Poly1305 keys are 32 bytes", nameof(key));
        _aead = new ChaCha20Poly1305(key);
        if (batch && !FrameAead512.IsSupported)
            throw new PlatformNotSupportedException("the multi-frame AEAD path needs AVX-512");
        _batch = batch;
        if (_batch) _keyWords = FrameAead512.KeyWords.From(key);
        _counter = initialCounter;
    }

    /// <summary>
    /// Whether runs of frames go through <see cref="FrameAead512"/> (AVX-512) rather than one BCL call per frame.
    /// <c>SWITCHBOARD_AEAD=bcl</c> forces the BCL (a way out should a platform misbehave).
    /// </summary>
    internal static bool UseBatchPath { get; } = FrameAead512.IsSupported &&
        !string.Equals(Environment.GetEnvironmentVariable("SWITCHBOARD_AEAD"), "bcl", StringComparison.OrdinalIgnoreCase);

    /// <summary>The name of the AEAD path in use, for logs and the bench report.</summary>
    internal static string PathName => UseBatchPath ? "switchboard avx-512 multi-frame" : "bcl ChaCha20Poly1305";

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

    /// <summary>
    /// Seals <paramref name="count"/> consecutive 1044-byte frames at the start of <paramref name="frames"/> in place
    /// (nonces <see cref="Counter"/>, +1, …). Either every frame is sealed or, when the nonces would run out, none is.
    /// </summary>
    /// <exception cref="ProtocolViolationException"><see cref="ProtocolViolation.NonceExhausted"/>.</exception>
    public void SealFrames(Span<byte> frames, int count)
    {
        if (count < 0 || frames.Length < count * SealedFrameSize)
            throw new ArgumentException("frames holds fewer than count sealed frames", nameof(frames));
        if ((ulong)count > ulong.MaxValue - _counter)
            throw Exhausted();
        if (!_batch)
        {
            for (var i = 0; i < count; i++) Seal(frames.Slice(i * SealedFrameSize, SealedFrameSize));
            return;
        }
        FrameAead512.Seal(_keyWords, _counter, frames, count);
        _counter += (ulong)count;
    }

    /// <summary>
    /// Opens up to <paramref name="count"/> consecutive sealed frames in place and returns how many leading frames were
    /// authentic (now plaintext). A return below <paramref name="count"/> means the frame at that index failed to
    /// authenticate (it is zeroed) — or, only when 0 frames could be opened, see the exception.
    /// </summary>
    /// <exception cref="ProtocolViolationException"><see cref="ProtocolViolation.NonceExhausted"/> when not even the
    /// first frame has a nonce left.</exception>
    public int OpenFrames(Span<byte> frames, int count, out bool failed)
    {
        if (count < 0 || frames.Length < count * SealedFrameSize)
            throw new ArgumentException("frames holds fewer than count sealed frames", nameof(frames));
        failed = false;
        if (count == 0) return 0;
        if (_counter == ulong.MaxValue) throw Exhausted();
        var allowed = (int)Math.Min((ulong)count, ulong.MaxValue - _counter);
        if (!_batch)
        {
            for (var i = 0; i < allowed; i++)
                if (!TryOpen(frames.Slice(i * SealedFrameSize, SealedFrameSize)))
                {
                    failed = true;
                    return i;
                }
            return allowed;
        }
        var opened = FrameAead512.Open(_keyWords, _counter, frames, allowed);
        _counter += (ulong)opened;
        failed = opened < allowed;
        if (failed) _counter++; // the failed frame used its nonce, as a one-at-a-time open would have
        return opened;
    }

    private static ProtocolViolationException Exhausted() => new(ProtocolViolation.NonceExhausted,
        "SecretConnection nonce counter exhausted (2^64-1 frames); the session must end");

    private void NextNonce(Span<byte> nonce)
    {
        // Go panics when asked to increment past 2^64−1 (tendermint/tendermint#3531), so the frame that would
        // use the last nonce is never sent or accepted. Refusing to use 2^64−1 gives the same wire behaviour.
        if (_counter == ulong.MaxValue)
            throw Exhausted();
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], _counter);
        _counter++;
    }

    /// <summary>Releases the AEAD (and its copy of the key).</summary>
    public void Dispose()
    {
        _aead.Dispose();
        _keyWords = default;
    }
}
