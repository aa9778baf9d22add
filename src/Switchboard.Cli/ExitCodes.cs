namespace Switchboard.Cli;

/// <summary>The process exit codes of every command.</summary>
internal static class ExitCodes
{
    /// <summary>0: the command did what was asked (a node stopped cleanly, a probe or send succeeded).</summary>
    public const int Ok = 0;

    /// <summary>1: the command ran but the outcome is negative (peer rejected us, an echo mismatched, no gateway).</summary>
    public const int Failure = 1;

    /// <summary>2: the command could not run as asked: bad arguments, unknown or invalid configuration, missing key.</summary>
    public const int Usage = 2;
}

/// <summary>A configuration or argument problem: reported as "error: …" and exit code <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class ConfigException(string message, Exception? innerException = null) : Exception(message, innerException);
