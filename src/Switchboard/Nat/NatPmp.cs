using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Switchboard.Nat;

/// <summary>A decoded NAT-PMP response (RFC 6886 §3.2 and §3.3).</summary>
internal readonly record struct NatPmpResponse(byte Opcode, NatPmpResultCode Result, uint Epoch, IPAddress? ExternalAddress,
    ushort InternalPort, ushort ExternalPort, uint Lifetime);

/// <summary>NAT-PMP message encoding and validation (RFC 6886).</summary>
internal static class NatPmpCodec
{
    public const byte Version = 0;
    public const byte OpExternalAddress = 0;
    public const byte OpMapUdp = 1;
    public const byte OpMapTcp = 2;
    /// <summary>Responses carry the request opcode plus 128 (RFC 6886 §3.2).</summary>
    public const byte ResponseBit = 128;

    public static byte[] ExternalAddressRequest() => [Version, OpExternalAddress];

    /// <summary>A mapping request (12 bytes, §3.3); lifetime 0 with external port 0 deletes the mapping.</summary>
    public static byte[] MapRequest(byte opcode, ushort internalPort, ushort suggestedExternalPort, uint lifetimeSeconds)
    {
        var b = new byte[12];
        b[0] = Version;
        b[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), suggestedExternalPort);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), lifetimeSeconds);
        return b;
    }

    /// <summary>
    /// Decodes a response to <paramref name="requestOpcode"/>. Wrong version, wrong opcode or a short packet is a
    /// <see cref="NatException"/> (MalformedResponse); a non-zero result code is returned in <see cref="NatPmpResponse.Result"/>.
    /// </summary>
    public static NatPmpResponse Parse(ReadOnlySpan<byte> packet, byte requestOpcode)
    {
        // Every response starts with version, opcode, 16-bit result and 32-bit epoch: 8 bytes (§3.5).
        if (packet.Length < 8)
            throw new NatException(NatError.MalformedResponse, $"NAT-PMP response of {packet.Length} bytes is shorter than 8");
        if (packet[0] != Version)
            throw new NatException(NatError.MalformedResponse, $"NAT-PMP response version {packet[0]}, expected {Version}");
        if (packet[1] != (byte)(ResponseBit + requestOpcode))
            throw new NatException(NatError.MalformedResponse, $"NAT-PMP response opcode {packet[1]}, expected {ResponseBit + requestOpcode}");
        var result = (NatPmpResultCode)BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        var epoch = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        if (result != NatPmpResultCode.Success)
            return new NatPmpResponse(packet[1], result, epoch, null, 0, 0, 0);
        if (requestOpcode == OpExternalAddress)
        {
            if (packet.Length < 12)
                throw new NatException(NatError.MalformedResponse, $"NAT-PMP external address response of {packet.Length} bytes is shorter than 12");
            return new NatPmpResponse(packet[1], result, epoch, new IPAddress(packet.Slice(8, 4)), 0, 0, 0);
        }
        if (packet.Length < 16)
            throw new NatException(NatError.MalformedResponse, $"NAT-PMP mapping response of {packet.Length} bytes is shorter than 16");
        return new NatPmpResponse(packet[1], result, epoch, null,
            BinaryPrimitives.ReadUInt16BigEndian(packet[8..]), BinaryPrimitives.ReadUInt16BigEndian(packet[10..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[12..]));
    }
}

/// <summary>A NAT-PMP client for one gateway (RFC 6886), over a UDP socket connected to gateway:5351.</summary>
internal sealed class NatPmpClient(NatNetwork network, IPAddress gateway, int maxAttempts, TimeSpan initialTimeout)
{
    private uint? _lastEpoch;
    private long _lastEpochAt;

    public IPAddress Gateway => gateway;

    /// <summary>True when the last answer's epoch went backwards: the gateway restarted and lost its mappings (§3.6).</summary>
    public bool GatewayRestarted { get; private set; }

    public async Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken = default)
    {
        var r = await RequestAsync(NatPmpCodec.ExternalAddressRequest(), NatPmpCodec.OpExternalAddress, "external address request", cancellationToken).ConfigureAwait(false);
        if (r.ExternalAddress is null || r.ExternalAddress.Equals(IPAddress.Any))
            throw new NatException(NatError.NoExternalAddress, "the NAT-PMP gateway reports external address 0.0.0.0 (not connected upstream)");
        return r.ExternalAddress;
    }

    /// <summary>Maps a port; the gateway may pick a different external port and a shorter lifetime.</summary>
    public async Task<(int ExternalPort, TimeSpan Lifetime)> MapAsync(bool tcp, int internalPort, int suggestedExternalPort, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        var op = tcp ? NatPmpCodec.OpMapTcp : NatPmpCodec.OpMapUdp;
        var seconds = (uint)Math.Clamp(lifetime.TotalSeconds, 1, uint.MaxValue);
        var r = await RequestAsync(NatPmpCodec.MapRequest(op, (ushort)internalPort, (ushort)suggestedExternalPort, seconds), op, "map request", cancellationToken).ConfigureAwait(false);
        if (r.InternalPort != internalPort)
            throw new NatException(NatError.MalformedResponse, $"NAT-PMP mapping response is for internal port {r.InternalPort}, not {internalPort}");
        if (r.ExternalPort == 0 || r.Lifetime == 0)
            throw new NatException(NatError.MalformedResponse, "NAT-PMP mapping response has external port or lifetime 0");
        return (r.ExternalPort, TimeSpan.FromSeconds(r.Lifetime));
    }

    /// <summary>Deletes a mapping: lifetime 0 and suggested external port 0 (§3.4).</summary>
    public async Task UnmapAsync(bool tcp, int internalPort, CancellationToken cancellationToken = default)
    {
        var op = tcp ? NatPmpCodec.OpMapTcp : NatPmpCodec.OpMapUdp;
        await RequestAsync(NatPmpCodec.MapRequest(op, (ushort)internalPort, 0, 0), op, "unmap request", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the request and retransmits on the RFC 6886 §3.1 schedule: wait 250 ms, then double the wait after each
    /// attempt, for <c>maxAttempts</c> attempts (the RFC's 9 take 128 s; callers use fewer to stay interactive).
    /// </summary>
    private async Task<NatPmpResponse> RequestAsync(byte[] request, byte opcode, string what, CancellationToken cancellationToken)
    {
        using var socket = network.CreateUdp();
        try
        {
            // Connected UDP: the kernel drops datagrams from anyone but gateway:5351 (§3.1 requires ignoring them),
            // and an ICMP port unreachable ends the wait at once as ConnectionRefused.
            socket.Connect(new IPEndPoint(gateway, network.NatPmpPort));
        }
        catch (SocketException ex)
        {
            throw new NatException(NatError.NetworkError, $"NAT-PMP {what} to {gateway}: {ex.SocketErrorCode}", ex);
        }
        var buffer = new byte[64];
        var wait = initialTimeout;
        var total = TimeSpan.Zero;
        for (var attempt = 1; attempt <= maxAttempts; attempt++)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(wait);
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                while (true)
                {
                    var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false);
                    NatPmpResponse r;
                    try
                    {
                        r = NatPmpCodec.Parse(buffer.AsSpan(0, n), opcode);
                    }
                    catch (NatException) when (n > 0 && buffer[1] != NatPmpCodec.ResponseBit + opcode && buffer[0] == NatPmpCodec.Version)
                    {
                        continue; // an answer to an earlier, different request: keep waiting for ours
                    }
                    TrackEpoch(r.Epoch);
                    if (r.Result != NatPmpResultCode.Success) throw new NatPmpException(r.Result, what);
                    return r;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                total += wait;
                wait *= 2;
            }
            catch (SocketException ex)
            {
                throw new NatException(NatError.NetworkError, $"NAT-PMP {what} to {gateway}:{network.NatPmpPort}: {ex.SocketErrorCode}", ex);
            }
        }
        throw new NatException(NatError.Timeout, $"NAT-PMP {what}: no answer from {gateway}:{network.NatPmpPort} after {maxAttempts} attempts ({total.TotalMilliseconds:0} ms)");
    }

    private void TrackEpoch(uint epoch)
    {
        // §3.6: the epoch counts seconds since the gateway's mapping table was (re)initialised. If it is less than
        // the previous one plus 7/8 of the local time elapsed (minus 2 s of slack), the gateway lost its mappings.
        var now = Environment.TickCount64;
        if (_lastEpoch is uint last)
        {
            var elapsed = (now - _lastEpochAt) / 1000;
            GatewayRestarted = epoch + 2 < last + elapsed * 7 / 8;
        }
        _lastEpoch = epoch;
        _lastEpochAt = now;
    }
}
