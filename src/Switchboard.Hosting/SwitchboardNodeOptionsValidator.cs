using Microsoft.Extensions.Options;

namespace Switchboard.Hosting;

/// <summary>
/// Checks <see cref="SwitchboardNodeOptions"/> the way the Switch and transport will use them, so a bad setting stops
/// the host at start (<c>ValidateOnStart</c>) with every problem named, instead of failing at the first dial.
/// </summary>
internal sealed class SwitchboardNodeOptionsValidator : IValidateOptions<SwitchboardNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, SwitchboardNodeOptions options)
    {
        var failures = new List<string>();
        Check(failures, () => options.ParseListenEndPoint());
        Check(failures, () => options.ToSwitchOptions().Validate());
        Check(failures, () => options.ToTransportOptions().Validate());
        if (!string.IsNullOrEmpty(options.ExternalAddress) && !IsHostPort(options.ExternalAddress))
            failures.Add($"{nameof(SwitchboardNodeOptions.ExternalAddress)}: \"{options.ExternalAddress}\" is not HOST:PORT");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, Action check)
    {
        try { check(); }
        catch (Exception ex) when (ex is FormatException or ArgumentException) { failures.Add(ex.Message); }
    }

    // HOST:PORT with a port in 1..65535; the host itself is resolved later, like CometBFT's external_address.
    private static bool IsHostPort(string text)
    {
        var colon = text.LastIndexOf(':');
        return colon > 0 && ushort.TryParse(text.AsSpan(colon + 1), out var port) && port > 0;
    }
}
