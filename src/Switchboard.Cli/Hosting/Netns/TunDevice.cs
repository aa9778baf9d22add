using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>
/// A TUN device created inside a network namespace whose file descriptor this process keeps: every IPv4 packet the
/// namespace routes to the device is read here, and every packet written here is received by that namespace. The
/// device is made on a short-lived thread that has entered the namespace (setns(2)); a TUN device belongs to the
/// namespace of the thread that opened <c>/dev/net/tun</c>, and the descriptor works from any thread afterwards.
/// </summary>
internal sealed partial class TunDevice : IDisposable
{
    // <linux/sched.h>, <linux/if_tun.h>, <fcntl.h>, <poll.h>, <errno.h>.
    private const int CloneNewNet = 0x40000000;
    private const uint TunSetIff = 0x400454ca;
    private const short IffTun = 0x0001, IffNoPi = 0x1000;
    private const int ORdWr = 2, OCloExec = 0x80000;
    private const short PollIn = 0x0001;
    private const int EIntr = 4, EAgain = 11;

    private readonly int _fd;
    private int _disposed;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, ref IfReq ifr);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IfReq
    {
        public fixed byte Name[16];
        public short Flags;
        private fixed byte _pad[22]; // struct ifreq is 40 bytes
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    private TunDevice(int fd, string ns, string name)
    {
        _fd = fd;
        Namespace = ns;
        Name = name;
    }

    public string Namespace { get; }

    public string Name { get; }

    /// <summary>Creates device <paramref name="name"/> (at most 15 characters) in namespace <paramref name="ns"/>.</summary>
    public static TunDevice Create(string ns, string name)
    {
        if (Encoding.ASCII.GetByteCount(name) > 15) throw new ArgumentException("an interface name is at most 15 characters", nameof(name));
        int fd = -1;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                // The thread's namespace changes for good: it ends right after.
                using (var handle = File.OpenHandle($"/var/run/netns/{ns}", FileMode.Open, FileAccess.Read))
                    if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                        throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns({ns})");
                fd = open("/dev/net/tun", ORdWr | OCloExec);
                if (fd < 0) throw new Win32Exception(Marshal.GetLastPInvokeError(), "open /dev/net/tun");
                var ifr = new IfReq { Flags = IffTun | IffNoPi };
                unsafe
                {
                    var bytes = Encoding.ASCII.GetBytes(name);
                    for (var i = 0; i < bytes.Length; i++) ifr.Name[i] = bytes[i];
                }
                if (ioctl(fd, TunSetIff, ref ifr) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    close(fd);
                    fd = -1;
                    throw new Win32Exception(errno, $"TUNSETIFF {name} in {ns}");
                }
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }) { IsBackground = true, Name = "tun " + ns };
        thread.Start();
        thread.Join();
        if (error is not null) throw new InvalidOperationException($"cannot create TUN device {name} in {ns}: {error.Message}", error);
        return new TunDevice(fd, ns, name);
    }

    /// <summary>
    /// Reads one packet into <paramref name="buffer"/>, waiting at most <paramref name="timeoutMs"/>. Returns its
    /// length, 0 on timeout, −1 when the device is gone.
    /// </summary>
    public unsafe int Read(Span<byte> buffer, int timeoutMs)
    {
        if (Volatile.Read(ref _disposed) != 0) return -1;
        var pfd = new PollFd { Fd = _fd, Events = PollIn };
        var ready = poll(&pfd, 1, timeoutMs);
        if (ready < 0) return Marshal.GetLastPInvokeError() == EIntr ? 0 : -1;
        if (ready == 0) return 0;
        if ((pfd.Revents & PollIn) == 0) return -1; // POLLERR / POLLHUP / POLLNVAL
        fixed (byte* p = buffer)
        {
            var n = read(_fd, p, (nuint)buffer.Length);
            if (n >= 0) return (int)n;
            var errno = Marshal.GetLastPInvokeError();
            return errno is EIntr or EAgain ? 0 : -1;
        }
    }

    /// <summary>Hands one packet to the namespace; false if the device refused it (gone, or its queue is full).</summary>
    public unsafe bool Write(ReadOnlySpan<byte> packet)
    {
        if (Volatile.Read(ref _disposed) != 0) return false;
        fixed (byte* p = packet) return write(_fd, p, (nuint)packet.Length) == packet.Length;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) close(_fd);
    }
}
