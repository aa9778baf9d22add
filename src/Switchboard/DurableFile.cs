using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Switchboard;

/// <summary>
/// Replaces a file so that a crash at any moment leaves either the old content or the new, complete one: the
/// content goes to <c>&lt;path&gt;.tmp</c> in the same folder, is flushed to the disk (fsync), renamed over the
/// target, and then the folder itself is flushed so the rename survives a power loss too (Unix only: Windows has
/// no directory handle to flush, and NTFS journals the rename).
/// </summary>
/// <remarks>
/// The temporary name is fixed per target, so a process killed in the middle of a write leaves at most one
/// <c>.tmp</c> file, which the next write replaces and <see cref="SweepTemporaryFiles"/> removes at load. One writer
/// per target: callers serialize their own writes; a second process writing the same file at the same time is not
/// supported (as in CometBFT). The temporary file is opened without sharing, so such a writer usually fails with an
/// <see cref="IOException"/> instead of mixing its bytes in.
/// </remarks>
internal static partial class DurableFile
{
    /// <summary>The suffix of the temporary file next to the target.</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>The temporary file a write of <paramref name="path"/> uses.</summary>
    public static string TemporaryPathFor(string path) => path + TemporarySuffix;

    /// <summary>
    /// Writes <paramref name="path"/> durably through <paramref name="write"/>. With <paramref name="unixCreateMode"/>
    /// any leftover temporary file is deleted first, so the new one is created with exactly that mode (a node key's
    /// 0600) rather than inheriting a stale file's.
    /// </summary>
    /// <exception cref="IOException">the file could not be written, renamed or flushed; the target is unchanged
    /// unless the rename itself happened (then only the folder flush failed).</exception>
    public static void Write(string path, Action<FileStream> write, UnixFileMode? unixCreateMode = null)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? throw new ArgumentException("the path has no folder", nameof(path));
        var temp = TemporaryPathFor(full);
        var options = new FileStreamOptions { Access = FileAccess.Write, Share = FileShare.None, Mode = FileMode.Create };
        if (unixCreateMode is { } mode && !OperatingSystem.IsWindows())
        {
            File.Delete(temp);
            options.Mode = FileMode.CreateNew;
            options.UnixCreateMode = mode;
        }
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        FlushDirectory(directory);
    }

    /// <summary>
    /// Deletes what interrupted writes of <paramref name="path"/> left: <c>&lt;path&gt;.tmp</c>, and the randomly
    /// named <paramref name="legacyPatterns"/> earlier versions used. Returns how many files were removed. Files that
    /// cannot be deleted are left alone (the next write replaces the fixed one anyway).
    /// </summary>
    public static int SweepTemporaryFiles(string path, params ReadOnlySpan<Func<string, bool>> legacyPatterns)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory)) return 0;
        var removed = 0;
        if (TryDelete(TemporaryPathFor(full))) removed++;
        if (legacyPatterns.Length == 0) return removed;
        string[] candidates;
        try
        {
            candidates = Directory.GetFiles(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return removed;
        }
        foreach (var candidate in candidates)
        {
            var name = Path.GetFileName(candidate);
            foreach (var matches in legacyPatterns)
            {
                if (matches(name) && TryDelete(candidate))
                {
                    removed++;
                    break;
                }
            }
        }
        return removed;
    }

    private static bool TryDelete(string file)
    {
        try
        {
            if (!File.Exists(file)) return false;
            File.Delete(file);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>fsync(2) on the folder, so that a rename inside it is on the disk. Does nothing on Windows.</summary>
    /// <exception cref="IOException">the folder could not be opened or flushed.</exception>
    internal static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        // .NET refuses to open a directory as a file, hence open(2) directly. O_RDONLY is 0 everywhere; O_CLOEXEC keeps
        // the descriptor out of a child process started meanwhile, and its value differs: Linux 02000000 (octal),
        // macOS 0x1000000, FreeBSD 0x100000.
        var flags = OperatingSystem.IsLinux() ? 0x80000 : OperatingSystem.IsMacOS() ? 0x1000000 : OperatingSystem.IsFreeBSD() ? 0x100000 : 0;
        var fd = open(directory, flags);
        if (fd < 0) throw Failure("open", directory, Marshal.GetLastPInvokeError());
        try
        {
            if (fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EINVAL: a file system that cannot flush a directory (some FUSE and network ones); nothing to do.
                if (errno != EINVAL) throw Failure("fsync", directory, errno);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    // EINVAL is 22 on Linux, macOS and the BSDs.
    private const int EINVAL = 22;

    private static IOException Failure(string call, string directory, int errno) =>
        new($"{call}({directory}) failed: {new Win32Exception(errno).Message}", errno);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
