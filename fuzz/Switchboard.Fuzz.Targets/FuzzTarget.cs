namespace Switchboard.Fuzz;

/// <summary>
/// One fuzz target: a decoder fed with arbitrary bytes. <see cref="Body"/> throws only what the decoder may
/// legitimately throw (the typed errors <see cref="IsExpected"/> accepts) or a <see cref="FuzzInvariantException"/>
/// when a property of the result does not hold; anything else escaping it is a crash.
/// </summary>
/// <param name="Name">the name on the command line and the folder under fuzz/corpora and fuzz/crashes.</param>
/// <param name="Description">what it feeds and with what.</param>
/// <param name="Body">runs the decoder on one input.</param>
/// <param name="IsExpected">the documented, typed errors of that decoder: a run that ends with one of them passed.</param>
/// <param name="AllocationBudget">the most bytes one run may allocate on its thread for an input of a given length.</param>
public sealed record FuzzTarget(
    string Name,
    string Description,
    Action<byte[]> Body,
    Func<Exception, bool> IsExpected,
    Func<int, long> AllocationBudget);

/// <summary>A property of a decoded value did not hold, or a run allocated more than its budget: a crash.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);

/// <summary>The outcome of one run that did not crash.</summary>
public enum FuzzOutcome
{
    /// <summary>The input decoded (and every check on the result held).</summary>
    Accepted,
    /// <summary>The decoder refused the input with one of its typed errors.</summary>
    Rejected,
}

/// <summary>
/// The target names, apart from the targets: the AFL++ driver must not run any instrumented code (the targets'
/// statics build keys and NodeInfos) before SharpFuzz has set up the coverage map, so it checks the name here.
/// </summary>
public static class FuzzTargetNames
{
    /// <summary>The names of <see cref="FuzzTargets.All"/>, in order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        "packet-cometbft", "packet-legacy", "delimited", "nodeinfo", "authsig", "handshake", "pex",
        "addrbook", "nodekey", "ssdp", "soap", "igd-xml", "http", "natpmp", "route", "config", "aead",
    ];
}

/// <summary>Every target, and the one way to run them (the AFL++ driver and the replay tests both call <see cref="Run"/>).</summary>
public static class FuzzTargets
{
    /// <summary>All targets, peer-fed first.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        WireTargets.CometBftPacket,
        WireTargets.LegacyPacket,
        WireTargets.Delimited,
        PeerTargets.NodeInfo,
        PeerTargets.AuthSig,
        HandshakeTarget.Target,
        PeerTargets.Pex,
        FileTargets.AddrBook,
        FileTargets.NodeKey,
        NatTargets.Ssdp,
        NatTargets.Soap,
        NatTargets.IgdDescription,
        NatTargets.Http,
        NatTargets.NatPmp,
        NatTargets.RouteTable,
        ConfigTarget.Target,
        AeadTarget.Target,
    ];

    /// <summary>The target called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">no such target.</exception>
    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"unknown fuzz target '{name}'; known: {string.Join(", ", All.Select(t => t.Name))}", nameof(name));

    /// <summary>
    /// Runs <paramref name="target"/> on <paramref name="input"/>. Returns normally when the input was accepted or
    /// refused with a typed error; throws the unexpected exception (or a <see cref="FuzzInvariantException"/> for a
    /// broken property or an allocation over budget) otherwise.
    /// </summary>
    public static FuzzOutcome Run(FuzzTarget target, byte[] input)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(input);
        var before = GC.GetAllocatedBytesForCurrentThread();
        FuzzOutcome outcome;
        try
        {
            target.Body(input);
            outcome = FuzzOutcome.Accepted;
        }
        catch (Exception ex) when (ex is not FuzzInvariantException && target.IsExpected(ex))
        {
            outcome = FuzzOutcome.Rejected;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var budget = target.AllocationBudget(input.Length);
        if (allocated > budget)
            throw new FuzzInvariantException($"{target.Name}: one run allocated {allocated} bytes for a {input.Length}-byte input; the budget is {budget}");
        return outcome;
    }

    /// <summary>Throws <see cref="FuzzInvariantException"/> when <paramref name="condition"/> is false.</summary>
    internal static void Check(bool condition, string what)
    {
        if (!condition) throw new FuzzInvariantException(what);
    }

    /// <summary>A budget of <paramref name="fixedBytes"/> plus <paramref name="perInputByte"/> for every input byte.</summary>
    internal static Func<int, long> Linear(long fixedBytes, long perInputByte) => length => fixedBytes + perInputByte * length;
}
