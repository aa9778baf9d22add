using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>Why a namespace testnet cannot run here.</summary>
internal sealed class NetnsUnavailableException(string message) : Exception(message);

/// <summary>
/// Network namespaces through iproute2: create, run a command inside, delete. Every name this process makes starts
/// with <see cref="Prefix"/> and the process id (<c>sbc1234-…</c>), so two runs never share a name, and a run that died
/// without cleaning up is recognised (its pid is gone) and swept by the next one.
/// </summary>
internal static partial class Netns
{
    /// <summary>"sbc": Switchboard chaos.</summary>
    public const string Prefix = "sbc";

    private static int s_runs;

    [LibraryImport("libc")]
    private static partial uint geteuid();

    /// <summary>Null when namespaces can be made here, else the reason.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        try
        {
            if (geteuid() != 0) return "needs root (it creates network namespaces and TUN devices)";
            var (code, _, err) = Run("ip", ["netns", "list"]);
            if (code != 0) return "'ip netns' does not work: " + err.Trim();
            if (!File.Exists("/dev/net/tun")) return "/dev/net/tun is missing (TUN devices are needed for the links)";
            return null;
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or TimeoutException or DllNotFoundException)
        {
            return "'ip' (iproute2) is not available: " + ex.Message;
        }
    }

    /// <summary>A name prefix unique to this run: <c>sbc&lt;pid&gt;r&lt;n&gt;</c>.</summary>
    public static string NewRunName() =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId}r{Interlocked.Increment(ref s_runs)}");

    public static void Add(string name) => Ip("netns", "add", name);

    /// <summary>Deletes a namespace; no error if it is already gone.</summary>
    public static void Delete(string name) => Run("ip", ["netns", "delete", name]);

    /// <summary>Runs <c>ip ARGS</c> inside namespace <paramref name="name"/>; throws on failure.</summary>
    public static void IpIn(string name, params string[] args) => Ip(["netns", "exec", name, "ip", .. args]);

    /// <summary>The namespaces that exist now.</summary>
    public static IReadOnlyList<string> List()
    {
        var (code, stdout, _) = Run("ip", ["netns", "list"]);
        if (code != 0) return [];
        // "name (id: 3)" or "name".
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ')[0]).ToList();
    }

    /// <summary>
    /// Deletes namespaces left by runs whose process no longer exists (a kill -9 of the coordinator). Those of live
    /// processes, another run's included, are left alone.
    /// </summary>
    public static int SweepStale()
    {
        var swept = 0;
        foreach (var name in List())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            var digits = name.AsSpan(Prefix.Length);
            var end = 0;
            while (end < digits.Length && char.IsAsciiDigit(digits[end])) end++;
            if (end == 0 || !int.TryParse(digits[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            Delete(name);
            swept++;
        }
        return swept;
    }

    private static void Ip(params string[] args)
    {
        var (code, _, err) = Run("ip", args);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {err.Trim()}");
    }

    /// <summary>Runs a host command (10 s at most) and returns its exit code and output.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(10_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within 10 s");
        }
        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
