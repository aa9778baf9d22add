using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Switchboard.Crypto;
using static Switchboard.Conn.SecretConnectionCipher;

namespace Switchboard.Conn;

/// <summary>
/// CometBFT's SecretConnection: an authenticated, encrypted byte stream over a transport stream
/// (PROTOCOL.md section 3). Create one with <see cref="HandshakeAsync(Stream, NodeKey, CancellationToken)"/>.
/// </summary>
/// <remarks>
/// <para>Record layer: every write is cut into 1024-byte chunks, each sealed as a 1044-byte ChaCha20-Poly1305
/// frame; all frames of one write (up to 128 KiB of data) go to the transport in a single write. Reads decrypt
/// frames in place in a pooled buffer and never return 0 except at end of stream (empty frames are skipped).</para>
/// <para>Thread safety: one read and one write may run concurrently (an MConnection has a receive loop and a
/// send loop); a second concurrent read or write throws <see cref="NotSupportedException"/>.</para>
/// <para>Failures are fatal: a frame that fails to authenticate (<see cref="ProtocolViolation.DecryptionFailed"/>),
/// declares more than 1024 bytes (<see cref="ProtocolViolation.InvalidFrame"/>), is cut short
/// (<see cref="ProtocolViolation.Truncated"/>), an exhausted nonce (<see cref="ProtocolViolation.NonceExhausted"/>)
/// or a write that did not complete closes the transport, and every later read or write throws.</para>
/// <para>Disposing the connection disposes the transport.</para>
/// </remarks>
public sealed partial class SecretConnection : Stream
{
    // 64 frames ≈ 65 KiB: one transport read can pull in a whole 64 KiB burst of frames.
    private const int ReceiveBufferFrames = 64;

    // 128 frames = 128 KiB of data per transport write, the buffer size CometBFT v1.x flushes at; bounds the
    // pooled buffer a single huge write can take.
    private const int MaxFramesPerTransportWrite = 128;

    private const int Idle = 0;
    private const int Busy = 1;
    private const int Closed = 2;

    private readonly Stream _transport;
    private readonly SecretConnectionCipher _sendCipher;
    private readonly SecretConnectionCipher _recvCipher;

    // Receive buffer: [_cipherStart, _openedEnd) holds frames already authenticated and decrypted (in one batch) but
    // not yet taken apart; [_openedEnd, _cipherEnd) is ciphertext not yet opened; [_plainOffset, +_plainLength) is
    // decrypted data of the current frame (before _cipherStart) that the caller has not taken yet.
    private byte[]? _recvBuffer;
    private int _cipherStart;
    private int _openedEnd;
    private int _cipherEnd;
    // The frame at _openedEnd failed to authenticate; reported when the reader gets to it.
    private bool _authFailedAtOpenedEnd;
    // Highest _cipherEnd since the buffer was rented: what must be cleared before it goes back to the pool.
    private int _highWater;
    private readonly bool _zeroByteReads;
    private int _plainOffset;
    private int _plainLength;

    private int _readState;
    private int _writeState;
    private int _disposed;
    private Exception? _fault;
    private byte[] _remotePublicKey = [];

    /// <summary>Creates the record layer over <paramref name="transport"/> with the derived direction keys.</summary>
    /// <param name="transport">the raw stream; owned from now on.</param>
    /// <param name="sendKey">32-byte key for frames we send.</param>
    /// <param name="recvKey">32-byte key for frames we receive.</param>
    /// <param name="sendCounter">first send nonce (tests of nonce exhaustion only).</param>
    /// <param name="recvCounter">first receive nonce (tests only).</param>
    internal SecretConnection(Stream transport, ReadOnlySpan<byte> sendKey, ReadOnlySpan<byte> recvKey,
        ulong sendCounter = 0, ulong recvCounter = 0)
    {
        _transport = transport;
        _sendCipher = new SecretConnectionCipher(sendKey, sendCounter);
        _recvCipher = new SecretConnectionCipher(recvKey, recvCounter);
        // A socket can wait for data without a buffer; other streams may not support zero-byte reads.
        _zeroByteReads = transport is System.Net.Sockets.NetworkStream;
    }

    /// <summary>
    /// Which ChaCha20-Poly1305 implementation the record layer uses in this process: "switchboard avx-512 multi-frame"
    /// (several frames per call, on CPUs with AVX-512), "switchboard avx2 multi-frame" (the same with AVX2, on CPUs
    /// without AVX-512, or with the environment variable <c>SWITCHBOARD_AEAD=avx2</c>) or "bcl ChaCha20Poly1305"
    /// (elsewhere, or with <c>SWITCHBOARD_AEAD=bcl</c>). All produce identical bytes.
    /// </summary>
    public static string AeadImplementation => SecretConnectionCipher.PathName;

    /// <summary>The remote's authenticated 32-byte Ed25519 public key.</summary>
    public ReadOnlyMemory<byte> RemotePublicKey => _remotePublicKey;

    /// <summary>The node ID of <see cref="RemotePublicKey"/>. Checking it against a dialed ID is the caller's job.</summary>
    public NodeId RemoteId { get; private set; }

    /// <inheritdoc/>
    public override bool CanRead => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc/>
    public override bool CanWrite => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    internal void SetRemote(byte[] publicKey)
    {
        _remotePublicKey = publicKey;
        RemoteId = NodeId.FromPublicKey(publicKey);
    }

    // ---------------------------------------------------------------- reading

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        EnterRead();
        try
        {
            ThrowIfFaulted();
            while (true)
            {
                var n = Drain(buffer, out var needTransport);
                if (!needTransport)
                    return n;
                int received;
                try
                {
                    received = _transport.Read(PrepareFill().Span);
                }
                catch (Exception ex) when (IsDeadOrDisposed())
                {
                    throw DeadOrDisposed(ex);
                }
                if (!Filled(received))
                    return 0;
            }
        }
        finally
        {
            ExitRead();
        }
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnterRead();
        try
        {
            ThrowIfFaulted();
            while (true)
            {
                var n = Drain(buffer.Span, out var needTransport);
                if (!needTransport)
                    return n;
                int received;
                try
                {
                    if (_zeroByteReads && _cipherEnd == _cipherStart)
                    {
                        // Nothing buffered: wait for data without holding the receive buffer, so an idle peer costs
                        // no buffer at all (as Kestrel does). Under load the wait completes at once and the buffer stays.
                        var ready = _transport.ReadAsync(Memory<byte>.Empty, cancellationToken);
                        if (!ready.IsCompleted)
                            ReleaseIdleBuffer();
                        await ready.ConfigureAwait(false);
                    }
                    received = await _transport.ReadAsync(PrepareFill(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsDeadOrDisposed())
                {
                    throw DeadOrDisposed(ex);
                }
                if (!Filled(received))
                    return 0;
            }
        }
        finally
        {
            ExitRead();
        }
    }

    /// <summary>
    /// Copies buffered plaintext into <paramref name="destination"/>, opening further buffered frames while it has
    /// room. <paramref name="needTransport"/> is true when nothing could be delivered and the transport must be
    /// read (for an empty destination: when no data is buffered, so a zero-byte read waits for data).
    /// </summary>
    private int Drain(Span<byte> destination, out bool needTransport)
    {
        if (_recvBuffer is not { } buffer)
        {
            needTransport = true; // nothing is buffered without a buffer
            return 0;
        }
        var copied = 0;
        while (true)
        {
            if (_plainLength > 0)
            {
                if (copied == destination.Length)
                    break;
                var take = Math.Min(_plainLength, destination.Length - copied);
                buffer.AsSpan(_plainOffset, take).CopyTo(destination[copied..]);
                _plainOffset += take;
                _plainLength -= take;
                copied += take;
                continue;
            }
            if (copied > 0 && copied == destination.Length)
                break;
            if (_cipherStart == _openedEnd && !_authFailedAtOpenedEnd && _cipherEnd - _cipherStart < SealedFrameSize)
            {
                needTransport = copied == 0;
                return copied;
            }
            try
            {
                NextFrame(buffer);
            }
            catch (ProtocolViolationException) when (copied > 0)
            {
                // Deliver the authentic bytes already copied; the recorded fault surfaces on the next call.
                break;
            }
        }
        needTransport = false;
        return copied;
    }

    /// <summary>
    /// Takes the next frame apart. When no opened frame is left, first authenticates and decrypts every complete
    /// frame in the buffer in one batch (the AVX-512 path works on several frames at once).
    /// </summary>
    private void NextFrame(byte[] buffer)
    {
        if (_cipherStart == _openedEnd)
        {
            if (_authFailedAtOpenedEnd)
                throw Fail(new ProtocolViolationException(ProtocolViolation.DecryptionFailed,
                    "failed to decrypt SecretConnection frame (tampered, or wrong key/nonce)"));
            var complete = (_cipherEnd - _cipherStart) / SealedFrameSize;
            int opened;
            bool failed;
            try
            {
                opened = _recvCipher.OpenFrames(buffer.AsSpan(_cipherStart, complete * SealedFrameSize), complete, out failed);
            }
            catch (ProtocolViolationException ex)
            {
                throw Fail(ex);
            }
            _openedEnd = _cipherStart + opened * SealedFrameSize;
            _authFailedAtOpenedEnd = failed;
            if (opened == 0)
                throw Fail(new ProtocolViolationException(ProtocolViolation.DecryptionFailed,
                    "failed to decrypt SecretConnection frame (tampered, or wrong key/nonce)"));
        }
        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(_cipherStart));
        if (length > DataMaxSize)
            throw Fail(new ProtocolViolationException(ProtocolViolation.InvalidFrame,
                $"SecretConnection frame declares {length} data bytes; at most {DataMaxSize} fit"));
        _plainOffset = _cipherStart + LengthPrefixSize;
        _plainLength = (int)length;
        _cipherStart += SealedFrameSize;
    }

    /// <summary>Moves a partial frame to the front of the buffer and returns the free space after it.</summary>
    private Memory<byte> PrepareFill()
    {
        var buffer = _recvBuffer ??= ArrayPool<byte>.Shared.Rent(ReceiveBufferFrames * SealedFrameSize);
        // Only called when every opened frame has been taken apart (_cipherStart == _openedEnd).
        var partial = _cipherEnd - _cipherStart;
        if (_cipherStart > 0)
        {
            buffer.AsSpan(_cipherStart, partial).CopyTo(buffer);
            _cipherStart = 0;
            _openedEnd = 0;
            _cipherEnd = partial;
        }
        return buffer.AsMemory(_cipherEnd);
    }

    /// <summary>Accounts for <paramref name="received"/> new bytes; false at a clean end of stream.</summary>
    private bool Filled(int received)
    {
        // A read that raced with Dispose reports the disposal, not whatever the closed transport returned.
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (received > 0)
        {
            _cipherEnd += received;
            _highWater = Math.Max(_highWater, _cipherEnd);
            return true;
        }
        if (_cipherEnd != _cipherStart)
            throw Fail(new ProtocolViolationException(ProtocolViolation.Truncated,
                $"stream ended inside a SecretConnection frame ({_cipherEnd - _cipherStart} of {SealedFrameSize} bytes)"));
        return false;
    }

    // ---------------------------------------------------------------- writing

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnterWrite();
        try
        {
            ThrowIfFaulted();
            while (!buffer.IsEmpty)
            {
                var chunk = Math.Min(buffer.Length, MaxFramesPerTransportWrite * DataMaxSize);
                var sealedFrames = SealChunk(buffer[..chunk], out var length);
                try
                {
                    _transport.Write(sealedFrames, 0, length);
                }
                catch (Exception ex)
                {
                    OnWriteFailed(ex);
                    throw;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(sealedFrames);
                }
                buffer = buffer[chunk..];
            }
        }
        finally
        {
            ExitWrite();
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    /// <remarks>A write that is cancelled or fails part-way leaves the peer with a partial frame, so it kills the connection.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnterWrite();
        try
        {
            ThrowIfFaulted();
            while (!buffer.IsEmpty)
            {
                var chunk = Math.Min(buffer.Length, MaxFramesPerTransportWrite * DataMaxSize);
                var sealedFrames = SealChunk(buffer.Span[..chunk], out var length);
                try
                {
                    await _transport.WriteAsync(sealedFrames.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    OnWriteFailed(ex);
                    throw;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(sealedFrames);
                }
                buffer = buffer[chunk..];
            }
        }
        finally
        {
            ExitWrite();
        }
    }

    /// <summary>
    /// Builds and seals every frame of <paramref name="data"/> into one pooled buffer (returned to the caller,
    /// holding only ciphertext). Padding is zeroed; CometBFT leaves stale plaintext there (PROTOCOL.md 9).
    /// </summary>
    private byte[] SealChunk(ReadOnlySpan<byte> data, out int length)
    {
        var frames = (data.Length + DataMaxSize - 1) / DataMaxSize;
        length = frames * SealedFrameSize;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            for (var i = 0; i < frames; i++)
            {
                var chunk = data.Slice(i * DataMaxSize, Math.Min(DataMaxSize, data.Length - i * DataMaxSize));
                var frame = buffer.AsSpan(i * SealedFrameSize, SealedFrameSize);
                BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)chunk.Length);
                chunk.CopyTo(frame[LengthPrefixSize..]);
                frame[(LengthPrefixSize + chunk.Length)..FrameSize].Clear();
            }
            _sendCipher.SealFrames(buffer.AsSpan(0, length), frames);
            return buffer;
        }
        catch (ProtocolViolationException ex)
        {
            // The frames still hold plaintext (a run is sealed whole or not at all).
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            throw Fail(ex);
        }
    }

    private void OnWriteFailed(Exception ex)
    {
        if (IsDeadOrDisposed())
            throw DeadOrDisposed(ex);
        // Part of a frame may be on the wire and the nonce has moved on: the stream cannot be resumed.
        Interlocked.CompareExchange(ref _fault, ex, null);
        CloseTransport();
    }

    /// <inheritdoc/>
    public override void Flush() => _transport.Flush();

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => _transport.FlushAsync(cancellationToken);

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    // ---------------------------------------------------------------- state

    private void EnterRead()
    {
        var prior = Interlocked.CompareExchange(ref _readState, Busy, Idle);
        if (prior == Busy)
            throw new NotSupportedException("SecretConnection allows only one read at a time");
        if (prior == Closed)
            throw new ObjectDisposedException(nameof(SecretConnection));
    }

    private void ExitRead()
    {
        // Dispose ran during the read and left the receive side to us.
        if (Interlocked.CompareExchange(ref _readState, Idle, Busy) == Closed)
            ReleaseReceiveSide();
    }

    private void EnterWrite()
    {
        var prior = Interlocked.CompareExchange(ref _writeState, Busy, Idle);
        if (prior == Busy)
            throw new NotSupportedException("SecretConnection allows only one write at a time");
        if (prior == Closed)
            throw new ObjectDisposedException(nameof(SecretConnection));
    }

    private void ExitWrite()
    {
        if (Interlocked.CompareExchange(ref _writeState, Idle, Busy) == Closed)
            _sendCipher.Dispose();
    }

    /// <summary>Whether the receive buffer is rented now (tests check an idle connection holds none).</summary>
    internal bool HoldsReceiveBuffer => Volatile.Read(ref _recvBuffer) is not null;

    /// <summary>Returns the empty receive buffer to the pool, clearing the part that held plaintext.</summary>
    private void ReleaseIdleBuffer()
    {
        if (_recvBuffer is not { } buffer) return;
        buffer.AsSpan(0, _highWater).Clear();
        _recvBuffer = null;
        _cipherStart = _openedEnd = _cipherEnd = _plainOffset = _plainLength = _highWater = 0;
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private void ReleaseReceiveSide()
    {
        _recvCipher.Dispose();
        var buffer = _recvBuffer;
        _recvBuffer = null;
        if (buffer is not null)
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true); // it holds decrypted plaintext
    }

    private ProtocolViolationException Fail(ProtocolViolationException ex)
    {
        Interlocked.CompareExchange(ref _fault, ex, null);
        CloseTransport();
        return ex;
    }

    private void CloseTransport()
    {
        try
        {
            _transport.Dispose();
        }
        catch (IOException)
        {
            // Closing a broken socket can report the same error again; the connection is dead either way.
        }
    }

    private bool IsDeadOrDisposed() => Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref _fault) is not null;

    private void ThrowIfFaulted()
    {
        if (Volatile.Read(ref _fault) is { } fault)
            throw Dead(fault);
    }

    private Exception DeadOrDisposed(Exception cause) =>
        Volatile.Read(ref _fault) is { } fault ? Dead(fault)
        : new ObjectDisposedException(nameof(SecretConnection), cause.Message);

    private static Exception Dead(Exception fault) => fault is ProtocolViolationException violation
        ? new ProtocolViolationException(violation.Violation, $"the SecretConnection is dead: {violation.Message}", violation)
        : new IOException($"the SecretConnection is dead after a failed write: {fault.Message}", fault);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            CloseTransport();
            if (Interlocked.Exchange(ref _readState, Closed) == Idle)
                ReleaseReceiveSide();
            if (Interlocked.Exchange(ref _writeState, Closed) == Idle)
                _sendCipher.Dispose();
        }
        base.Dispose(disposing);
    }
}
