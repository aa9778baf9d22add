using System.Globalization;
using Switchboard.Cli.Config;
using Tomlyn;
using Tomlyn.Model;

namespace Switchboard.Cli.Hosting.Netns;

/// <summary>What a scripted fault does.</summary>
internal enum FaultAction
{
    /// <summary>Cut the link between two nodes (both directions) until the next heal.</summary>
    Cut,

    /// <summary>Split the network in two until the next heal.</summary>
    Partition,

    /// <summary>Remove every cut and the partition; the reconnection after it is measured.</summary>
    Heal,

    /// <summary>Stop a node with SIGTERM (it saves its address book) and start it again.</summary>
    Restart,

    /// <summary>Kill a node with SIGKILL, and start it again after <see cref="Fault.Down"/>.</summary>
    Kill,
}

/// <summary>One scripted fault.</summary>
/// <param name="At">Time from the start of the faults phase (after the network formed).</param>
/// <param name="Action">What happens.</param>
/// <param name="Nodes">Cut: the two ends; partition: the nodes of one side; restart/kill: the nodes. Empty: chosen at random (seeded).</param>
/// <param name="Down">Kill only: how long the node stays dead.</param>
internal sealed record Fault(TimeSpan At, FaultAction Action, IReadOnlyList<int> Nodes, TimeSpan Down)
{
    public override string ToString() =>
        $"{Duration.Format(At)} {Action.ToString().ToLowerInvariant()}{(Nodes.Count > 0 ? " " + string.Join(",", Nodes) : "")}";
}

/// <summary>
/// A chaos testnet run: the nodes, every link's shape, the faults over time and how the verdict is judged. Read from
/// a TOML file (<see cref="Load"/>; the format is in README.md, "Chaos testnet") and/or built from the command's flags.
/// </summary>
internal sealed record Scenario
{
    /// <summary>Gossiping nodes (each in its own namespace); node 0 is the others' seed.</summary>
    public int Nodes { get; init; } = 8;

    /// <summary>How long the faults phase lasts, from the moment the network has formed.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the network may take to form (every node hears every other) before the run fails.</summary>
    public TimeSpan FormTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long, after a heal or a node's return, every node may take to hear every other again.</summary>
    public TimeSpan ReconnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between two gossip messages of one node.</summary>
    public TimeSpan GossipInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>At the end the gossip stops and the messages in flight are given this long to arrive before the count.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Seed of every random choice (link draws, fault targets).</summary>
    public int Seed { get; init; } = 1;

    public LinkShape Link { get; init; } = new();

    /// <summary>The faults, in time order (the explicit ones and those of <see cref="Cycle"/>).</summary>
    public IReadOnlyList<Fault> Faults { get; init; } = [];

    public void Validate()
    {
        if (Nodes is < 2 or > 250) throw new ConfigException($"nodes: must be 2 to 250 (got {Nodes})");
        if (Duration <= TimeSpan.Zero) throw new ConfigException("duration: must be above 0");
        if (GossipInterval <= TimeSpan.Zero) throw new ConfigException("gossip_interval: must be above 0");
        try
        {
            Link.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ConfigException("link: " + ex.Message);
        }
        foreach (var f in Faults)
        {
            if (f.At < TimeSpan.Zero || f.At > Duration) throw new ConfigException($"fault at {Config.Duration.Format(f.At)}: outside the run (0 to {Config.Duration.Format(Duration)})");
            if (f.Nodes.Any(n => n < 0 || n >= Nodes)) throw new ConfigException($"fault {f}: nodes are 0 to {Nodes - 1}");
            if (f.Action == FaultAction.Cut && f.Nodes.Count is not (0 or 2)) throw new ConfigException($"fault {f}: a cut names two nodes (or none: a random link)");
            if (f.Action == FaultAction.Cut && f.Nodes.Count == 2 && f.Nodes[0] == f.Nodes[1]) throw new ConfigException($"fault {f}: a cut needs two different nodes");
            if (f.Action == FaultAction.Partition && f.Nodes.Count >= Nodes) throw new ConfigException($"fault {f}: one side cannot hold every node");
        }
    }

    /// <summary>
    /// A cycle of faults: starting at <paramref name="start"/>, every <paramref name="every"/> the next of
    /// <paramref name="actions"/> (in turn, targets at random), healed <paramref name="hold"/> later; the last one
    /// ends at least <paramref name="hold"/> before <paramref name="duration"/>.
    /// </summary>
    public static IReadOnlyList<Fault> Cycle(TimeSpan start, TimeSpan every, TimeSpan hold, IReadOnlyList<FaultAction> actions, TimeSpan duration, TimeSpan down)
    {
        if (every <= TimeSpan.Zero || hold <= TimeSpan.Zero || actions.Count == 0) return [];
        var faults = new List<Fault>();
        var i = 0;
        for (var t = start; t + hold + hold <= duration; t += every, i++)
        {
            var action = actions[i % actions.Count];
            faults.Add(new Fault(t, action, [], down));
            if (action is FaultAction.Cut or FaultAction.Partition) faults.Add(new Fault(t + hold, FaultAction.Heal, [], down));
        }
        return faults;
    }

    /// <summary>Reads a scenario file. Unknown keys are errors (a typo must not silently change a run).</summary>
    public static Scenario Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"--scenario {path}: {ex.Message}");
        }
        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize<TomlTable>(text) ?? new TomlTable();
        }
        catch (TomlException ex)
        {
            throw new ConfigException($"--scenario {path}: {ex.Message}");
        }
        try
        {
            return FromToml(table);
        }
        catch (ConfigException ex)
        {
            throw new ConfigException($"--scenario {path}: {ex.Message}");
        }
    }

    public static Scenario FromToml(TomlTable table)
    {
        var s = new Scenario();
        Known(table, "", "nodes", "duration", "form_timeout", "reconnect_timeout", "gossip_interval", "drain", "seed", "link", "cycle", "fault");
        s = s with
        {
            Nodes = (int)Int(table, "nodes", s.Nodes),
            Duration = Dur(table, "duration", s.Duration),
            FormTimeout = Dur(table, "form_timeout", s.FormTimeout),
            ReconnectTimeout = Dur(table, "reconnect_timeout", s.ReconnectTimeout),
            GossipInterval = Dur(table, "gossip_interval", s.GossipInterval),
            Drain = Dur(table, "drain", s.Drain),
            Seed = (int)Int(table, "seed", s.Seed),
        };
        if (table.TryGetValue("link", out var l))
        {
            var link = l as TomlTable ?? throw new ConfigException("link: must be a table ([link])");
            Known(link, "link.", "delay", "jitter", "loss", "reorder", "rate", "queue_limit");
            s = s with
            {
                Link = new LinkShape
                {
                    Delay = Dur(link, "delay", TimeSpan.Zero),
                    Jitter = Dur(link, "jitter", TimeSpan.Zero),
                    Loss = Percent(link, "loss"),
                    Reorder = Percent(link, "reorder"),
                    RateBitsPerSecond = link.TryGetValue("rate", out var r) ? ParseRate(r as string ?? throw new ConfigException("link.rate: a string such as \"10mbit\""), "link.rate") : 0,
                    QueueLimit = (int)Int(link, "queue_limit", 1000),
                },
            };
        }
        var faults = new List<Fault>();
        if (table.TryGetValue("cycle", out var c))
        {
            var cycle = c as TomlTable ?? throw new ConfigException("cycle: must be a table ([cycle])");
            Known(cycle, "cycle.", "start", "every", "hold", "actions", "down");
            var actions = cycle.TryGetValue("actions", out var a)
                ? (a as TomlArray ?? throw new ConfigException("cycle.actions: a list such as [\"cut\", \"partition\"]")).Select(x => ParseAction(x as string, "cycle.actions")).ToList()
                : [FaultAction.Cut, FaultAction.Partition];
            faults.AddRange(Cycle(Dur(cycle, "start", TimeSpan.FromSeconds(10)), Dur(cycle, "every", TimeSpan.FromMinutes(1)),
                Dur(cycle, "hold", TimeSpan.FromSeconds(20)), actions, s.Duration, Dur(cycle, "down", TimeSpan.FromSeconds(3))));
        }
        if (table.TryGetValue("fault", out var fa))
        {
            var array = fa as TomlTableArray ?? throw new ConfigException("fault: must be a list of tables ([[fault]])");
            foreach (var f in array)
            {
                Known(f, "fault.", "at", "action", "nodes", "down");
                var nodes = f.TryGetValue("nodes", out var n)
                    ? (n as TomlArray ?? throw new ConfigException("fault.nodes: a list of node numbers")).Select(x => x is long v ? (int)v : throw new ConfigException("fault.nodes: a list of node numbers")).ToList()
                    : [];
                faults.Add(new Fault(Dur(f, "at", TimeSpan.Zero), ParseAction(f.TryGetValue("action", out var act) ? act as string : null, "fault.action"), nodes,
                    Dur(f, "down", TimeSpan.FromSeconds(3))));
            }
        }
        return s with { Faults = faults.OrderBy(f => f.At).ToList() };
    }

    public static FaultAction ParseAction(string? text, string key) => text switch
    {
        "cut" => FaultAction.Cut,
        "partition" => FaultAction.Partition,
        "heal" => FaultAction.Heal,
        "restart" => FaultAction.Restart,
        "kill" => FaultAction.Kill,
        _ => throw new ConfigException($"{key}: \"{text}\" is not cut, partition, heal, restart or kill"),
    };

    /// <summary>"10mbit", "512kbit", "1gbit", "800bit" (netem's units, bits per second); "0" is unlimited.</summary>
    public static long ParseRate(string text, string key)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "0") return 0;
        (string Suffix, long Factor)[] units = [("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1_000), ("bit", 1)];
        foreach (var (suffix, factor) in units)
        {
            if (!t.EndsWith(suffix, StringComparison.Ordinal)) continue;
            if (double.TryParse(t[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) && v > 0)
                return (long)(v * factor);
            break;
        }
        throw new ConfigException($"{key}: \"{text}\" is not a rate such as 10mbit, 512kbit or 0");
    }

    private static void Known(TomlTable table, string prefix, params string[] keys)
    {
        foreach (var key in table.Keys)
            if (!keys.Contains(key)) throw new ConfigException($"{prefix}{key}: unknown key (known: {string.Join(", ", keys)})");
    }

    private static long Int(TomlTable t, string key, long fallback) =>
        !t.TryGetValue(key, out var v) ? fallback : v is long l ? l : throw new ConfigException($"{key}: must be an integer");

    private static TimeSpan Dur(TomlTable t, string key, TimeSpan fallback)
    {
        if (!t.TryGetValue(key, out var v)) return fallback;
        if (v is string s && Config.Duration.TryParse(s, out var d, out var error)) return d;
        throw new ConfigException($"{key}: {(v is string ? "" : "must be a string, ")}a duration such as \"500ms\", \"20s\" or \"1m\"");
    }

    private static double Percent(TomlTable t, string key)
    {
        if (!t.TryGetValue(key, out var v)) return 0;
        var p = v switch { long l => l, double d => d, _ => throw new ConfigException($"{key}: a number of percent, e.g. 1 or 0.5") };
        if (p is < 0 or > 100) throw new ConfigException($"{key}: must be 0 to 100 (percent)");
        return p / 100;
    }
}
