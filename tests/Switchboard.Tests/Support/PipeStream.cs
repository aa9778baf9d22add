using Switchboard.Transport;

namespace Switchboard.Tests.Support;

/// <summary>An in-memory full-duplex byte stream pair (what a socket looks like to both ends).</summary>
/// <remarks>The library's own <see cref="MemoryDuplexStream"/>, the one the in-memory transport uses.</remarks>
public static class DuplexPipe
{
    public static (Stream A, Stream B) CreatePair() => MemoryDuplexStream.CreatePair();
}
