using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Switchboard.Cli.Commands;

/// <summary>Turns Ctrl-C (SIGINT) and SIGTERM into a clean stop instead of process termination.</summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly ILogger _logger;
    private readonly PosixSignalRegistration? _sigterm;

    public StopSignals(CancellationTokenSource stop, ILogger logger)
    {
        _stop = stop;
        _logger = logger;
        Console.CancelKeyPress += OnCancelKeyPress;
        // SIGTERM is what service managers and `docker stop` send; without a handler the runtime would exit at once.
        _sigterm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSigterm);
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true; // keep the process alive until the node has stopped
        Stop("Ctrl-C");
    }

    private void OnSigterm(PosixSignalContext context)
    {
        context.Cancel = true;
        Stop("SIGTERM");
    }

    private void Stop(string signal)
    {
        if (_stop.IsCancellationRequested) return;
        CliLog.Stopping(_logger, signal);
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The node already stopped on its own.
        }
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm?.Dispose();
    }
}
