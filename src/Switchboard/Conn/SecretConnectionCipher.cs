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
    private FrameAead.KeyWords _keyWords;
    /// <summary><see cref="DefaultPath"/> as it was when this cipher was made (or the path a test chose).</summary>
    private readonly FrameAeadPath _path;
    private ulong _counter;

    /// <summary>Creates the cipher; the key is copied into the AEAD and may be cleared by the caller.</summary>
    /// <param name="key">the 32-byte direction key.</param>
    /// <param name="initialCounter">the first nonce counter; 0 except in tests of nonce exhaustion.</param>
    public SecretConnectionCipher(ReadOnlySpan<byte> key, ulong initialCounter = 0)
        : this(key, initialCounter, DefaultPath)
    {
    }

    /// <summary>As above, choosing the path (tests and benchmarks compare them; the path must be supported here).</summary>
    internal SecretConnectionCipher(ReadOnlySpan<byte> key, ulong initialCounter, FrameAeadPath path)
    {
        if (key.Length != KeySize)
            throw new ArgumentException("ChaCha20-Poly1305 keys are 32 bytes", nameof(key));
        if (!IsSupported(path))
            throw new PlatformNotSupportedException($"the {PathNameOf(path)} AEAD path is not supported on this CPU");
        _aead = new ChaCha20Poly1305(key);
        _path = path;
        if (_path != FrameAeadPath.Bcl) _keyWords = FrameAead.KeyWords.From(key);
        _counter = initialCounter;
    }

    /// <summary>
    /// The path runs of frames take: <see cref="FrameAead512"/> (AVX-512) where the CPU has it, else
    /// <see cref="FrameAead256"/> (AVX2), else one BCL call per frame. <c>SWITCHBOARD_AEAD=bcl</c> forces the BCL (a
    /// way out should a platform misbehave); <c>SWITCHBOARD_AEAD=avx2</c> the AVX2 path where AVX2 is there (to test
    /// and measure it on an AVX-512 machine).
    /// </summary>
    internal static FrameAeadPath DefaultPath { get; } = ChoosePath(Environment.GetEnvironmentVariable("SWITCHBOARD_AEAD"));

    /// <summary>The path for a value of <c>SWITCHBOARD_AEAD</c> on this CPU (unset or unknown: the fastest supported).</summary>
    internal static FrameAeadPath ChoosePath(string? setting)
    {
        if (string.Equals(setting, "bcl", StringComparison.OrdinalIgnoreCase)) return FrameAeadPath.Bcl;
        if (string.Equals(setting, "avx2", StringComparison.OrdinalIgnoreCase))
            return FrameAead256.IsSupported ? FrameAeadPath.Avx2 : FrameAeadPath.Bcl;
        if (FrameAead512.IsSupported) return FrameAeadPath.Avx512;
        return FrameAead256.IsSupported ? FrameAeadPath.Avx2 : FrameAeadPath.Bcl;
    }

    /// <summary>Whether this CPU can run <paramref name="path"/>.</summary>
    internal static bool IsSupported(FrameAeadPath path) => path switch
    {
        FrameAeadPath.Bcl => true,
        FrameAeadPath.Avx2 => FrameAead256.IsSupported,
        FrameAeadPath.Avx512 => FrameAead512.IsSupported,
        _ => false,
    };

    /// <summary>The name of the AEAD path in use, for logs and the bench report.</summary>
    internal static string PathName => PathNameOf(DefaultPath);

    internal static string PathNameOf(FrameAeadPath path) => path switch
    {
        FrameAeadPath.Avx512 => "switchboard avx-512 multi-frame",
        FrameAeadPath.Avx2 => "switchboard avx2 multi-frame",
        _ => "bcl ChaCha20Poly1305",
    };

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
        switch (_path)
        {
            case FrameAeadPath.Avx512:
                FrameAead.Seal<FrameAead512>(_keyWords, _counter, frames, count);
                break;
            case FrameAeadPath.Avx2:
                FrameAead.Seal<FrameAead256>(_keyWords, _counter, frames, count);
                break;
            default:
                for (var i = 0; i < count; i++) Seal(frames.Slice(i * SealedFrameSize, SealedFrameSize));
                return;
        }
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
        if (_path == FrameAeadPath.Bcl)
        {
            for (var i = 0; i < allowed; i++)
                if (!TryOpen(frames.Slice(i * SealedFrameSize, SealedFrameSize)))
                {
                    failed = true;
                    return i;
                }
            return allowed;
        }
        var opened = _path == FrameAeadPath.Avx512
            ? FrameAead.Open<FrameAead512>(_keyWords, _counter, frames, allowed)
            : FrameAead.Open<FrameAead256>(_keyWords, _counter, frames, allowed);
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

/// <summary>How a <see cref="SecretConnectionCipher"/> seals and opens runs of frames (the bytes are the same).</summary>
internal enum FrameAeadPath
{
    /// <summary>The BCL's <see cref="ChaCha20Poly1305"/>, one call per frame; runs everywhere.</summary>
    Bcl,

    /// <summary><see cref="FrameAead256"/>: 8 ChaCha20 blocks and 4 Poly1305 frames at a time (AVX2).</summary>
    Avx2,

    /// <summary><see cref="FrameAead512"/>: 16 ChaCha20 blocks and 8 Poly1305 frames at a time (AVX-512).</summary>
    Avx512,
}
