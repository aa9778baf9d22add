using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>One run of a node's process (a node that is restarted has several).</summary>
internal sealed class ChaosIncarnation(int number, Process process, DateTimeOffset startedAt)
{
    public int Number { get; } = number;

    public Process Process { get; } = process;

    public DateTimeOffset StartedAt { get; } = startedAt;

    /// <summary>The last status line it printed (its final one if it stopped cleanly).</summary>
    public ChaosNodeStatus? Latest { get; set; }

    /// <summary>Ended by the coordinator's SIGKILL: its last line is up to one status interval old.</summary>
    public bool Killed { get; set; }

    /// <summary>The coordinator asked it to end (SIGTERM, SIGKILL or end of input).</summary>
    public bool Expected { get; set; }
}

/// <summary>
/// A node of the chaos testnet as the coordinator sees it: its namespace, address and home, and the processes it has
/// run, started with <c>ip netns exec NS &lt;switchboard&gt; testnet-node --home HOME</c>. Standard output is parsed
/// into <see cref="ChaosNodeStatus"/> lines; standard error goes to <c>node.log</c> in the home.
/// </summary>
internal sealed partial class ChaosProcess(int index, string ns, string address, string home, string id)
{
    private const int SigTerm = 15;
    private readonly List<ChaosIncarnation> _incarnations = [];
    private readonly Lock _lock = new();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    public int Index { get; } = index;

    public string Name => "node-" + Index;

    public string Namespace { get; } = ns;

    public string Address { get; } = address;

    public string Home { get; } = home;

    public string Id { get; } = id;

    /// <summary>Called with every status line (on a thread of the process's output reader).</summary>
    public Action<ChaosProcess, ChaosIncarnation, ChaosNodeStatus>? StatusReceived { get; set; }

    /// <summary>Called when a process has exited and its output has been read.</summary>
    public Action<ChaosProcess, ChaosIncarnation>? Exited { get; set; }

    public IReadOnlyList<ChaosIncarnation> Incarnations
    {
        get { lock (_lock) return [.. _incarnations]; }
    }

    /// <summary>The current process, if it runs.</summary>
    public ChaosIncarnation? Current
    {
        get
        {
            lock (_lock) return _incarnations.Count > 0 && !_incarnations[^1].Process.HasExited ? _incarnations[^1] : null;
        }
    }

    public ChaosIncarnation? Last
    {
        get { lock (_lock) return _incarnations.Count > 0 ? _incarnations[^1] : null; }
    }

    public bool IsRunning => Current is not null;

    /// <summary>Starts a process for the node.</summary>
    public ChaosIncarnation Start(string file, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["netns", "exec", Namespace, file, .. args]) psi.ArgumentList.Add(a);
        var log = new StreamWriter(Path.Combine(Home, "node.log"), append: true) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        ChaosIncarnation? incarnation = null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { Length: > 0 } line || incarnation is null) return;
            ChaosNodeStatus? status;
            try
            {
                status = JsonSerializer.Deserialize(line, ChaosNodeJsonContext.Default.ChaosNodeStatus);
            }
            catch (JsonException)
            {
                lock (log) log.WriteLine("stdout: " + line);
                return;
            }
            if (status is null) return;
            incarnation.Latest = status;
            StatusReceived?.Invoke(this, incarnation, status);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.WriteLine(e.Data);
        };
        process.Exited += (_, _) =>
        {
            // Exited can come before the last output lines: wait for the readers to reach the end.
            process.WaitForExit();
            lock (log) log.Dispose();
            if (incarnation is not null) Exited?.Invoke(this, incarnation);
        };
        lock (_lock)
        {
            lock (log) log.WriteLine($"--- incarnation {_incarnations.Count + 1} at {DateTimeOffset.UtcNow:O}");
            process.Start();
            incarnation = new ChaosIncarnation(_incarnations.Count + 1, process, DateTimeOffset.UtcNow);
            _incarnations.Add(incarnation);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return incarnation;
    }

    /// <summary>Sends an order line to the running process (ignored if it is gone).</summary>
    public void Tell(string order)
    {
        if (Current is not { } c) return;
        try
        {
            c.Process.StandardInput.WriteLine(order);
            c.Process.StandardInput.Flush();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // It just exited.
        }
    }

    /// <summary>Closes standard input: the node prints its final status and stops. Waits up to <paramref name="timeout"/>, then kills it.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (Current is not { } c) return;
        c.Expected = true;
        try
        {
            c.Process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
        }
        await WaitOrKillAsync(c, timeout).ConfigureAwait(false);
    }

    /// <summary>SIGTERM (a clean stop: the book is saved), then waits up to <paramref name="timeout"/>, then kills it.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (Current is not { } c) return;
        c.Expected = true;
        kill(c.Process.Id, SigTerm);
        await WaitOrKillAsync(c, timeout).ConfigureAwait(false);
    }

    /// <summary>SIGKILL, and waits for the process to be gone.</summary>
    public async Task KillAsync()
    {
        if (Current is not { } c) return;
        c.Killed = true;
        c.Expected = true;
        try
        {
            c.Process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        await c.Process.WaitForExitAsync().ConfigureAwait(false);
    }

    private static async Task WaitOrKillAsync(ChaosIncarnation c, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await c.Process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            c.Killed = true;
            try
            {
                c.Process.Kill();
            }
            catch (InvalidOperationException)
            {
            }
            await c.Process.WaitForExitAsync().ConfigureAwait(false);
        }
    }
}
